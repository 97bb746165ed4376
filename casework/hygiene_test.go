package casework_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRefusedRegistrationStoresNothing: a registration refused for an
// oversize supplement (after a valid document and a valid supplement)
// leaves the blob store and the temporary directory as they were.
func TestRefusedRegistrationStoresNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	nc := newCase(casework.FormBilateral, sign(pdf("refused"), "co1"))
	nc.Supplements = []casework.Upload{
		{Name: "見積書.xlsx", Body: bytes.NewReader([]byte("a small, valid supplement"))},
		{Name: "図面.zip", Body: bytes.NewReader(make([]byte, casework.MaxSupplementSize+1))},
	}
	blobs, tmp := countFiles(t, e.dir), countFiles(t, e.tmp)
	if _, err := e.svc.Register(ctx, u1, nc); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("oversize supplement: %v, want kerr.Invalid", err)
	}
	if n := countFiles(t, e.dir); n != blobs {
		t.Errorf("the refused registration left %d files in the blob store", n-blobs)
	}
	if n := countFiles(t, e.tmp); n != tmp {
		t.Errorf("the refused registration left %d temporary files", n-tmp)
	}
	// The same case with a supplement within the limit is stored whole.
	nc = newCase(casework.FormBilateral, sign(pdf("refused"), "co1"))
	nc.Supplements = []casework.Upload{{Name: "図面.zip", Body: bytes.NewReader(make([]byte, casework.MaxSupplementSize))}}
	c, err := e.svc.Register(ctx, u1, nc)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Supplements) != 1 || c.Supplements[0].Size != casework.MaxSupplementSize {
		t.Errorf("supplements = %+v", c.Supplements)
	}
	if n := countFiles(t, e.dir); n != blobs+2 {
		t.Errorf("%d new blob files, want 2 (document and supplement)", n-blobs)
	}
}

// TestDatesOutOfRange: dates the store cannot hold are invalid input, and
// a date that is zero only once converted to UTC is not "no date".
func TestDatesOutOfRange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, d := range map[string]civil.Date{
		"year 10000":    {Year: 10000, Month: 1, Day: 1},
		"year 2300":     {Year: 2300, Month: 1, Day: 1},
		"before 1900":   {Year: 1899, Month: 12, Day: 31},
		"30 February":   {Year: 2026, Month: 2, Day: 30},
		"month 13":      {Year: 2026, Month: 13, Day: 1},
		"year 1, 1 Jan": {Year: 1, Month: 1, Day: 1},
	} {
		nc := newCase(casework.FormBilateral, sign(pdf("date"), "co1"))
		nc.TransactionDate = d
		if _, err := e.svc.Register(ctx, u1, nc); !errors.Is(err, kerr.Invalid) {
			t.Errorf("register with %s: %v, want kerr.Invalid", name, err)
		}
		if _, err := e.svc.Search(ctx, u1, &casework.Query{TransactionFrom: d}); !errors.Is(err, kerr.Invalid) {
			t.Errorf("search from %s: %v, want kerr.Invalid", name, err)
		}
	}
	// Instants (the completion time) are checked the same way; a time that
	// is zero only once converted to UTC is not "no time".
	jst := time.FixedZone("JST", 9*3600)
	for name, at := range map[string]time.Time{
		"year 2300 (past int64 ns)": time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		"a nanosecond after zero":   time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		"year 1 in JST, not zero":   time.Date(1, 1, 1, 9, 0, 1, 0, jst),
	} {
		if err := (&storage.CaseQuery{Limit: 1, CompletedFrom: at}).Validate(); !errors.Is(err, kerr.Invalid) {
			t.Errorf("completed from %s: %v, want kerr.Invalid", name, err)
		}
	}
}

// TestNamesScreened: bidirectional overrides and zero-width characters are
// refused in case and counterparty names; file names are reduced to a
// safe base name, Japanese kept.
func TestNamesScreened(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, mutate := range map[string]func(*casework.NewCase){
		"case name with RLO":           func(nc *casework.NewCase) { nc.Name = "請求書\u202Efdp.exe" },
		"case name with a zero-width":  func(nc *casework.NewCase) { nc.Name = "業務\u200B委託契約" },
		"counterparty with an isolate": func(nc *casework.NewCase) { nc.Parties[0].CompanyName = "株式会社\u2067アルファ" },
		"order number with C1 control": func(nc *casework.NewCase) { nc.OrderNumber = "PO\u00851" },
		"case name with BOM":           func(nc *casework.NewCase) { nc.Name = "\uFEFF契約" },
	} {
		nc := newCase(casework.FormBilateral, sign(pdf("names"), "co1"))
		mutate(nc)
		if _, err := e.svc.Register(ctx, u1, nc); !errors.Is(err, kerr.Invalid) {
			t.Errorf("%s: %v, want kerr.Invalid", name, err)
		}
	}
	nc := newCase(casework.FormBilateral, sign(pdf("names"), "co1"))
	nc.Document.Name = `..\..\契約書<最終>` + "\u202E" + `.pdf`
	nc.Supplements = []casework.Upload{{Name: "/etc/見積書.xlsx", Body: bytes.NewReader([]byte("x"))}}
	c, err := e.svc.Register(ctx, u1, nc)
	if err != nil {
		t.Fatal(err)
	}
	if c.Document.Name != "契約書_最終_.pdf" || c.Supplements[0].Name != "見積書.xlsx" {
		t.Errorf("stored names %q, %q", c.Document.Name, c.Supplements[0].Name)
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"契約書.pdf":                         "契約書.pdf",
		"../../etc/passwd":                "passwd",
		`C:\Users\tanaka\見積書.xlsx`:        "見積書.xlsx",
		"invoice\u202Efdp.exe":            "invoicefdp.exe",
		"a\u200Bb.txt":                    "ab.txt",
		"  ..hidden.pdf. ":                "hidden.pdf",
		"CON.txt":                         "file.txt",
		"":                                "file",
		"what?<>*|\".pdf":                 "what______.pdf",
		"bad\xffutf8.pdf":                 "badutf8.pdf",
		strings.Repeat("契", 100) + ".pdf": strings.Repeat("契", 83) + ".pdf",
	} {
		if got := casework.SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeFileName(f *testing.F) {
	f.Add("契約書.pdf")
	f.Add("../a\u202E.exe")
	f.Fuzz(func(t *testing.T, in string) {
		out := casework.SafeFileName(in)
		if out == "" || len(out) > casework.MaxFileNameBytes || !utf8.ValidString(out) || strings.ContainsAny(out, `/\<>:"|?*`) {
			t.Fatalf("SafeFileName(%q) = %q", in, out)
		}
		if casework.SafeFileName(out) != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, casework.SafeFileName(out))
		}
	})
}

// orderedBody is one part of a stream read in order: reading it before
// the part before it was read to the end is an error, as it is when the
// parts of one multipart request are read out of turn.
type orderedBody struct {
	r    io.Reader
	prev *orderedBody
	done bool
}

func (b *orderedBody) Read(p []byte) (int, error) {
	if b.prev != nil && !b.prev.done {
		return 0, errors.New("read before the part before it was read to the end")
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.done = true
	}
	return n, err
}

// TestRegisterReadsPartsInOrder: the document is read before the
// supplements, and each supplement before the next, so that the uploads
// can be the parts of one multipart stream.
func TestRegisterReadsPartsInOrder(t *testing.T) {
	e := newEnv(t)
	nc := newCase(casework.FormBilateral, sign(pdf("in order"), "co1"))
	doc := &orderedBody{r: nc.Document.Body}
	s1 := &orderedBody{r: strings.NewReader("first supplement"), prev: doc}
	s2 := &orderedBody{r: strings.NewReader("second supplement"), prev: s1}
	nc.Document.Body = doc
	nc.Supplements = []casework.Upload{{Name: "a.txt", Body: s1}, {Name: "b.txt", Body: s2}}
	c, err := e.svc.Register(context.Background(), u1, nc)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if len(c.Supplements) != 2 || c.Supplements[0].Size != int64(len("first supplement")) {
		t.Errorf("supplements = %+v", c.Supplements)
	}
}
