package casework

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"
	"golang.org/x/text/encoding/japanese"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
)

func TestMajorUnits(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{Money{100000, "JPY"}, "100000"},
		{Money{0, "JPY"}, "0"},
		{Money{1999, "USD"}, "19.99"},
		{Money{5, "USD"}, "0.05"},
		{Money{0, "EUR"}, "0.00"},
		{Money{1234, "KWD"}, "1.234"},
		{Money{7, "ZZZ"}, "7"}, // not an ISO 4217 code x/text knows: minor units
		{Money{MaxAmount, "USD"}, "11258999068426.24"},
	}
	for _, tt := range tests {
		if got := majorUnits(tt.m); got != tt.want {
			t.Errorf("majorUnits(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestCSVShiftJISRefusesUnencodable(t *testing.T) {
	var buf bytes.Buffer
	cw, err := newCSVWriter(&buf, CSVShiftJIS)
	if err != nil {
		t.Fatal(err)
	}
	if err := cw.write([]string{"株式会社ケイヤク", "①②"}); err != nil {
		t.Fatalf("CP932 characters refused: %v", err)
	}
	before := buf.Len()
	err = cw.write([]string{"𠮷野屋", "x"})
	var ue unencodableError
	if !errors.As(err, &ue) || ue.r != '𠮷' {
		t.Fatalf("err = %v, want the character 𠮷 named", err)
	}
	if buf.Len() != before {
		t.Errorf("a refused record wrote %d bytes", buf.Len()-before)
	}
}

func sjis(t *testing.T, s string) string {
	b, err := japanese.ShiftJIS.NewEncoder().String(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return b
}

func FuzzParseCSVEncoding(f *testing.F) {
	for _, s := range []string{"", "utf-8-bom", "SHIFT_JIS", "sjis", "cp932", "utf8", "latin1", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseCSVEncoding(s)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("err = %v, want Invalid", err)
			}
			return
		}
		if back, err := ParseCSVEncoding(e.String()); err != nil || back != e {
			t.Fatalf("%q -> %v does not round-trip: %v, %v", s, e, back, err)
		}
	})
}

// FuzzCSVExcelRoundTrip writes records of arbitrary text in each encoding
// and reads them back as Excel would: every record comes back unchanged,
// or (Shift_JIS only) is refused as a whole with the character named.
func FuzzCSVExcelRoundTrip(f *testing.F) {
	f.Add("業務委託契約", "PO-1, \"A\"", "株式会社 ケイヤク")
	f.Add("=SUM(A1)", "", "ｱｲｳ ①")
	f.Add("－−～〜", "\"", "🚀")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, v := range []string{a, b, c} {
			if checkText("fuzz", "text", v, false, 1<<20) != nil {
				return // casework stores no text that is not UTF-8 or holds control characters
			}
		}
		rec := []string{a, b, c}
		for _, enc := range []CSVEncoding{CSVUTF8BOM, CSVShiftJIS} {
			var buf bytes.Buffer
			cw, err := newCSVWriter(&buf, enc)
			if err != nil {
				t.Fatal(err)
			}
			if err := cw.write(rec); err != nil {
				var ue unencodableError
				if enc == CSVShiftJIS && errors.As(err, &ue) {
					continue
				}
				t.Fatalf("%s: write: %v", enc, err)
			}
			got, detected, err := readAsExcel(buf.Bytes())
			if err != nil {
				t.Fatalf("%s: Excel would not read %q: %v", enc, buf.Bytes(), err)
			}
			if detected != enc.String() {
				t.Fatalf("%s: Excel would read it as %s", enc, detected)
			}
			want := make([]string, len(rec))
			for i := range rec {
				want[i] = rec[i]
			}
			if len(got) != 1 {
				t.Fatalf("%s: read back %d records %q, want 1", enc, len(got), got)
			}
			if slices.Equal(got[0], want) {
				continue
			}
			// Shift_JIS has one code for some pairs of Unicode characters
			// (U+2212 and U+FF0D, ...): a difference is allowed only where
			// both sides are the same bytes in Shift_JIS.
			if enc == CSVShiftJIS && sjis(t, strings.Join(got[0], "\x00")) == sjis(t, strings.Join(want, "\x00")) {
				continue
			}
			t.Fatalf("%s: read back %q, want %q", enc, got[0], want)
		}
	})
}

// BenchmarkCSVRows measures ExportCSV's formatting and writing of one row
// in each encoding against the floor: the same row formatted and written
// by encoding/csv alone, straight to io.Discard (no per-row buffer, no
// encoding).
//
//	go test ./casework -run XXX -bench CSVRows -benchmem
func BenchmarkCSVRows(b *testing.B) {
	c := &Case{ID: "0123456789abcdef0123456789abcdef", Form: FormBilateral, State: StateCompleted, Category: CategoryNew,
		Name: "業務委託契約 2026年度 第2期", OrderNumber: "PO-2026-0001",
		Parties:         []Party{{CompanyName: "株式会社エー商事"}, {CompanyName: "シー工業株式会社"}},
		Amount:          Money{Amount: 1_100_000, Currency: "JPY"},
		TransactionDate: civil.Date{Year: 2026, Month: 4, Day: 1}, CreatedAt: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), CompletedAt: time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)}
	loc, err := account.LoadTimeZone("")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("floor-encoding-csv", func(b *testing.B) {
		cw := csv.NewWriter(io.Discard)
		cw.UseCRLF = true
		for b.Loop() {
			_ = cw.Write(csvRow(c, loc))
		}
		cw.Flush()
	})
	for _, enc := range []CSVEncoding{CSVUTF8BOM, CSVShiftJIS} {
		b.Run(enc.String(), func(b *testing.B) {
			w, _ := newCSVWriter(io.Discard, enc)
			for b.Loop() {
				if err := w.write(csvRow(c, loc)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
