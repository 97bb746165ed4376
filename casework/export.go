package casework

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// MaxExportRows bounds ExportCSV.
const MaxExportRows = 1_000_000

// CSVHeader is the header row ExportCSV writes. The last column names the
// time zone created_at and completed_at are written in.
var CSVHeader = []string{"id", "form", "state", "category", "original_id", "name", "order_number",
	"counterparties", "amount", "currency", "transaction_date", "created_at", "completed_at", "time_zone"}

// CSVEncoding is the character encoding of an export.
type CSVEncoding uint8

// The encodings. Excel in Japanese reads a file that starts with a UTF-8
// byte order mark as UTF-8, and any other file as Shift_JIS (code page
// 932); so the default carries the mark.
const (
	// CSVUTF8BOM is UTF-8 preceded by the byte order mark EF BB BF: every
	// character survives and Excel opens it correctly. The default.
	CSVUTF8BOM CSVEncoding = iota
	// CSVShiftJIS is Shift_JIS as golang.org/x/text/encoding/japanese
	// writes it, for older tools. Text Shift_JIS cannot hold (e.g. 𠮷 or
	// emoji) stops the export with kerr.Invalid before that row is
	// written, rather than being changed.
	CSVShiftJIS
	// CSVUTF8 is UTF-8 without a mark, for programs.
	CSVUTF8
)

var csvEncodingNames = [...]string{CSVUTF8BOM: "utf-8-bom", CSVShiftJIS: "shift_jis", CSVUTF8: "utf-8"}

// String returns the encoding's stable name: "utf-8-bom", "shift_jis" or
// "utf-8"; "" if unknown.
func (e CSVEncoding) String() string {
	if int(e) < len(csvEncodingNames) {
		return csvEncodingNames[e]
	}
	return ""
}

// ParseCSVEncoding returns the encoding named s, ignoring ASCII case: one
// of the String names, with "sjis", "cp932", "windows-31j" and "utf8"
// accepted as aliases and "" meaning CSVUTF8BOM. Anything else is
// kerr.Invalid.
func ParseCSVEncoding(s string) (CSVEncoding, error) {
	switch strings.ToLower(s) {
	case "", "utf-8-bom", "utf8-bom":
		return CSVUTF8BOM, nil
	case "shift_jis", "shift-jis", "sjis", "cp932", "windows-31j":
		return CSVShiftJIS, nil
	case "utf-8", "utf8":
		return CSVUTF8, nil
	}
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return 0, kerr.E(kerr.Invalid, "casework.ParseCSVEncoding", "unknown CSV encoding %q: use utf-8-bom (for Excel), shift_jis or utf-8", s)
}

// CSVOptions are per-call settings for ExportCSVWith; nil means the zero
// value.
type CSVOptions struct {
	// Encoding of the file; zero is CSVUTF8BOM.
	Encoding CSVEncoding
	// TimeZone for created_at and completed_at; nil means the zone of the
	// principal's company (Service.TimeZone).
	TimeZone *time.Location
}

// ExportCSV is ExportCSVWith with default options: UTF-8 with a byte order
// mark, times in the company's zone.
func (s *Service) ExportCSV(ctx context.Context, p account.Principal, q *Query, w io.Writer) (int, error) {
	return s.ExportCSVWith(ctx, p, q, w, nil)
}

// ExportCSVWith writes every case p may see that matches q (from q.Cursor
// on, in q's order) to w as CSV (RFC 4180: CRLF line ends, quotes where
// needed) with CSVHeader, up to MaxExportRows rows; beyond that it stops
// with kerr.Invalid (narrow the query). It returns the number of rows
// written.
//
// The cells are what Excel in Japanese reads as intended: amount is a
// decimal in the currency's major unit (¥100000 is "100000", $19.99 is
// "19.99"; the digits are ISO 4217's minor units, from CLDR via
// golang.org/x/text/currency; a code it does not know is written in minor
// units) next to its currency code; transaction_date is the calendar date
// "2006-01-02"; created_at and completed_at are "2006-01-02 15:04:05" in
// the zone named in time_zone. Text cells that a spreadsheet would take
// for a formula (starting with = + - @ tab or CR) are prefixed with a
// single quote.
func (s *Service) ExportCSVWith(ctx context.Context, p account.Principal, q *Query, w io.Writer, opts *CSVOptions) (int, error) {
	const op = "casework.ExportCSV"
	if p.Operator { // transfer.go
		s.refused(ctx, op, p, "", "the service operator sees no cases")
		return 0, kerr.E(kerr.PermissionDenied, op, "the service operator sees no cases")
	}
	if err := refuseDisclosure(op, p); err != nil { // disclosure.go
		return 0, err
	}
	var o CSVOptions
	if opts != nil {
		o = *opts
	}
	if o.Encoding.String() == "" {
		return 0, kerr.E(kerr.Invalid, op, "unknown CSV encoding %d: use CSVUTF8BOM, CSVShiftJIS or CSVUTF8", o.Encoding)
	}
	loc := o.TimeZone
	if loc == nil {
		var err error
		if loc, err = s.TimeZone(ctx, p); err != nil {
			return 0, kerr.Wrap(op, err)
		}
	}
	qq := Query{}
	if q != nil {
		qq = *q
	}
	qq.Limit = storage.MaxPageSize
	cw, err := newCSVWriter(w, o.Encoding)
	if err != nil {
		return 0, kerr.Wrap(op, err)
	}
	if err := cw.write(CSVHeader); err != nil {
		return 0, kerr.Wrap(op, err)
	}
	n := 0
	for {
		page, err := s.search(ctx, op, p, &qq, loc)
		if err != nil {
			return n, err
		}
		for _, c := range page.Cases {
			if n == MaxExportRows {
				return n, kerr.E(kerr.Invalid, op, "more than %d cases match; narrow the query", MaxExportRows)
			}
			if err := cw.write(csvRow(c, loc)); err != nil {
				var ue unencodableError
				if errors.As(err, &ue) {
					return n, kerr.E(kerr.Invalid, op, "case %s holds %s, which Shift_JIS cannot hold: export as utf-8-bom instead", c.ID, ue)
				}
				return n, kerr.Wrap(op, err)
			}
			n++
		}
		if page.Next == "" {
			return n, nil
		}
		qq.Cursor = page.Next
	}
}

func csvRow(c *Case, loc *time.Location) []string {
	var names []string
	for _, party := range c.Parties {
		names = append(names, party.CompanyName)
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format(time.DateTime)
	}
	return []string{c.ID, c.Form.String(), c.State.String(), c.Category.String(), c.OriginalID,
		cell(c.Name), cell(c.OrderNumber), cell(strings.Join(names, "; ")),
		majorUnits(c.Amount), c.Amount.Currency,
		c.TransactionDate.String(), at(c.CreatedAt), at(c.CompletedAt), loc.String()}
}

// majorUnits writes m in its currency's major unit with as many decimals
// as the currency has minor units: {1999, USD} is "19.99", {100000, JPY}
// "100000". Integer arithmetic, so nothing is rounded.
func majorUnits(m Money) string {
	scale := 0
	if u, err := currency.ParseISO(m.Currency); err == nil {
		scale, _ = currency.Standard.Rounding(u)
	}
	digits := strconv.FormatInt(m.Amount, 10)
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		digits = "-" + digits
	}
	return digits
}

// cell defuses CSV formula injection (OWASP): a leading = + - @ tab or CR
// would make a spreadsheet evaluate user-typed text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvWriter writes CSV records in one encoding. Each record is formatted
// and encoded whole before any of it reaches w, so a record that cannot be
// encoded leaves w ending after the previous record.
type csvWriter struct {
	w    io.Writer
	enc  CSVEncoding
	buf  bytes.Buffer
	cw   *csv.Writer
	sjis *encoding.Encoder // reused: Bytes resets it
}

func newCSVWriter(w io.Writer, enc CSVEncoding) (*csvWriter, error) {
	c := &csvWriter{w: w, enc: enc, sjis: japanese.ShiftJIS.NewEncoder()}
	c.cw = csv.NewWriter(&c.buf)
	c.cw.UseCRLF = true // RFC 4180 §2, and what Excel writes
	if enc == CSVUTF8BOM {
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *csvWriter) write(record []string) error {
	c.buf.Reset()
	if err := c.cw.Write(record); err != nil {
		return err
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	out := c.buf.Bytes()
	if c.enc == CSVShiftJIS {
		sj, err := c.sjis.Bytes(out)
		if err != nil {
			return firstUnencodable(record)
		}
		out = sj
	}
	_, err := c.w.Write(out)
	return err
}

// unencodableError names a character Shift_JIS cannot hold.
type unencodableError struct{ r rune }

func (e unencodableError) Error() string { return fmt.Sprintf("the character %q (U+%04X)", e.r, e.r) }

// firstUnencodable finds the first character of record that Shift_JIS
// cannot hold.
func firstUnencodable(record []string) error {
	for _, f := range record {
		for _, r := range f {
			if _, err := japanese.ShiftJIS.NewEncoder().String(string(r)); err != nil {
				return unencodableError{r}
			}
		}
	}
	return unencodableError{utf8.RuneError}
}
