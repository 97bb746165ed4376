package casework_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func tokyo(t *testing.T) *time.Location {
	loc, err := account.LoadTimeZone("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// inEachServerZone runs f with time.Local set to UTC and to Asia/Tokyo, as
// on a server in either zone. Not parallel: it sets time.Local.
func inEachServerZone(t *testing.T, f func(t *testing.T)) {
	for _, loc := range []*time.Location{time.UTC, tokyo(t)} {
		t.Run("server in "+loc.String(), func(t *testing.T) {
			saved := time.Local
			time.Local = loc
			t.Cleanup(func() { time.Local = saved })
			f(t)
		})
	}
}

func ids(t *testing.T, e *env, p account.Principal, q *casework.Query) []string {
	t.Helper()
	page, err := e.svc.Search(context.Background(), p, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range page.Cases {
		out = append(out, c.ID)
	}
	return out
}

// TestTransactionDateAtJSTDayBoundary registers a case dated by a user in
// Japan at 2026-04-01 08:00 JST (2026-03-31 23:00 UTC): it is dated
// 2026-04-01 and found under that date, not the day before, on a server
// in UTC and in Tokyo.
func TestTransactionDateAtJSTDayBoundary(t *testing.T) {
	inEachServerZone(t, func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		nc := newCase(casework.FormBilateral, sign(pdf("dated"), "co1"))
		nc.TransactionDate = civil.DateOf(time.Date(2026, 4, 1, 8, 0, 0, 0, tokyo(t)))
		c, err := e.svc.Register(ctx, u1, nc)
		if err != nil {
			t.Fatal(err)
		}
		want := civil.Date{Year: 2026, Month: 4, Day: 1}
		if c.TransactionDate != want {
			t.Fatalf("registered with date %s, want %s", c.TransactionDate, want)
		}
		got, err := e.svc.Get(ctx, u1, c.ID)
		if err != nil || got.TransactionDate != want {
			t.Fatalf("stored date %v (%v), want %s", got.TransactionDate, err, want)
		}
		day := func(d int) civil.Date { return civil.Date{Year: 2026, Month: time.April, Day: d} }
		for _, tt := range []struct {
			name     string
			from, to civil.Date
			want     []string
		}{
			{"on 04-01", day(1), day(1), []string{c.ID}},
			{"on 03-31", civil.Date{Year: 2026, Month: 3, Day: 31}, civil.Date{Year: 2026, Month: 3, Day: 31}, nil},
			{"from 04-01", day(1), civil.Date{}, []string{c.ID}},
			{"to 03-31", civil.Date{}, civil.Date{Year: 2026, Month: 3, Day: 31}, nil},
			{"from 04-02", day(2), civil.Date{}, nil},
		} {
			if got := ids(t, e, u1, &casework.Query{TransactionFrom: tt.from, TransactionTo: tt.to}); !slices.Equal(got, tt.want) {
				t.Errorf("%s: found %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}

func TestTransactionDateInvalid(t *testing.T) {
	e := newEnv(t)
	nc := newCase(casework.FormBilateral, sign(pdf("x"), "co1"))
	nc.TransactionDate = civil.Date{Year: 2026, Month: 2, Day: 30}
	if _, err := e.svc.Register(context.Background(), u1, nc); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("2026-02-30: err = %v, want Invalid", err)
	}
	if _, err := e.svc.Search(context.Background(), u1, &casework.Query{CompletedFrom: civil.Date{Year: 2026, Month: 13, Day: 1}}); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("month 13: err = %v, want Invalid", err)
	}
}

// TestCompletionDayInCompanyZone completes a case at 2026-03-31 23:00 UTC,
// 2026-04-01 08:00 in Japan: a company in Tokyo (the default) finds it
// under 2026-04-01 and exports that time; after its administrator sets
// the company's zone to UTC, under 2026-03-31. The same on a server in
// either zone.
func TestCompletionDayInCompanyZone(t *testing.T) {
	inEachServerZone(t, func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		e.now = time.Date(2026, 3, 31, 22, 59, 50, 0, time.UTC) // the clock ticks 1s per call
		c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("done"), "co1")))
		if err != nil {
			t.Fatal(err)
		}
		got := receive(t, e, u2, c.ID)
		if _, err := e.svc.Return(ctx, u2, c.ID, upload(sign(got, "co2"))); err != nil {
			t.Fatal(err)
		}
		if c, err = e.svc.Complete(ctx, u1, c.ID); err != nil {
			t.Fatal(err)
		}
		if c.CompletedAt.Day() != 31 || c.CompletedAt.UTC().Hour() != 22 {
			t.Fatalf("completed at %s; the test needs 2026-03-31 22:59 UTC", c.CompletedAt)
		}
		d331 := civil.Date{Year: 2026, Month: 3, Day: 31}
		d401 := civil.Date{Year: 2026, Month: 4, Day: 1}
		check := func(zone string, want331, want401 []string) {
			t.Helper()
			if got := ids(t, e, u1, &casework.Query{States: []casework.State{casework.StateCompleted}, CompletedFrom: d331, CompletedTo: d331}); !slices.Equal(got, want331) {
				t.Errorf("%s: completed on 03-31: %v, want %v", zone, got, want331)
			}
			if got := ids(t, e, u1, &casework.Query{States: []casework.State{casework.StateCompleted}, CompletedFrom: d401, CompletedTo: d401}); !slices.Equal(got, want401) {
				t.Errorf("%s: completed on 04-01: %v, want %v", zone, got, want401)
			}
		}
		check("Asia/Tokyo (default)", nil, []string{c.ID})
		var buf bytes.Buffer
		if _, err := e.svc.ExportCSV(ctx, u1, &casework.Query{States: []casework.State{casework.StateCompleted}}, &buf); err != nil {
			t.Fatal(err)
		}
		rows, _, err := casework.ReadAsExcel(buf.Bytes())
		if err != nil || len(rows) != 2 {
			t.Fatalf("export: %q, %v", rows, err)
		}
		if at := rows[1][12]; at[:13] != "2026-04-01 07" || rows[1][13] != "Asia/Tokyo" {
			t.Errorf("completed_at %q in %q, want 2026-04-01 07:59:5x in Asia/Tokyo", at, rows[1][13])
		}

		// co1's administrator moves the company to UTC.
		acc, err := account.New(account.Config{Store: e.store})
		if err != nil {
			t.Fatal(err)
		}
		boss := admin1
		if _, err := acc.SetTimeZone(ctx, boss, "Mars/Olympus"); !errors.Is(err, kerr.Invalid) {
			t.Errorf("unknown zone: err = %v, want Invalid", err)
		}
		if _, err := acc.SetTimeZone(ctx, u1, "UTC"); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("not an administrator: err = %v, want PermissionDenied", err)
		}
		check("Asia/Tokyo (company record without a zone)", nil, []string{c.ID})
		if _, err := acc.SetTimeZone(ctx, boss, "UTC"); err != nil {
			t.Fatal(err)
		}
		check("UTC", []string{c.ID}, nil)
		buf.Reset()
		if _, err := e.svc.ExportCSV(ctx, u1, &casework.Query{States: []casework.State{casework.StateCompleted}}, &buf); err != nil {
			t.Fatal(err)
		}
		if rows, _, err = casework.ReadAsExcel(buf.Bytes()); err != nil || len(rows) != 2 || rows[1][12][:13] != "2026-03-31 22" || rows[1][13] != "UTC" {
			t.Errorf("export in UTC: %q, %v", rows, err)
		}
	})
}

// TestExportShiftJIS exports through the Service in Shift_JIS and reads
// the file back as Excel would (no BOM: the system code page), then
// refuses a case whose name Shift_JIS cannot hold, naming the case,
// without writing a partial row.
func TestExportShiftJIS(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	nc := newCase(casework.FormBilateral, sign(pdf("sjis"), "co1"))
	nc.Name, nc.Amount = "保守契約, \"第2期\"", casework.Money{Amount: 1999, Currency: "USD"}
	if _, err := e.svc.Register(ctx, u1, nc); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := e.svc.ExportCSVWith(ctx, u1, nil, &buf, &casework.CSVOptions{Encoding: casework.CSVShiftJIS})
	if err != nil || n != 1 {
		t.Fatalf("ExportCSVWith(Shift_JIS) = %d, %v", n, err)
	}
	if bytes.Contains(buf.Bytes(), []byte("保守")) {
		t.Error("the Shift_JIS export holds UTF-8 text")
	}
	rows, enc, err := casework.ReadAsExcel(buf.Bytes())
	if err != nil || enc != "shift_jis" || len(rows) != 2 {
		t.Fatalf("Excel reads %q as %s: %v", rows, enc, err)
	}
	if rows[1][5] != nc.Name || rows[1][7] != partyCo2.CompanyName || rows[1][8] != "19.99" || rows[1][9] != "USD" {
		t.Errorf("row = %q", rows[1])
	}

	nc = newCase(casework.FormBilateral, sign(pdf("kichi"), "co1"))
	nc.Name = "𠮷野屋との契約"
	bad, err := e.svc.Register(ctx, u1, nc)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	_, err = e.svc.ExportCSVWith(ctx, u1, &casework.Query{Sort: storage.SortCreated}, &buf, &casework.CSVOptions{Encoding: casework.CSVShiftJIS})
	if !errors.Is(err, kerr.Invalid) || !strings.Contains(err.Error(), bad.ID) {
		t.Fatalf("export of 𠮷 in Shift_JIS: err = %v, want Invalid naming case %s", err, bad.ID)
	}
	if rows, _, err := casework.ReadAsExcel(buf.Bytes()); err != nil || len(rows) != 2 {
		t.Errorf("the refused export is not the header and the rows before it: %q, %v", rows, err)
	}
	buf.Reset()
	if n, err := e.svc.ExportCSV(ctx, u1, nil, &buf); err != nil || n != 2 {
		t.Errorf("the same cases in UTF-8: %d, %v", n, err)
	}
}
