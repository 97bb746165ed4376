// Command bulkverify runs bulk verification (一括検証) on a keiyaku data
// directory (the embedded default): every signature, document timestamp,
// sealed PDF and evidence record of the cases a company completed in a
// period, with a progress bar, written as CSV, JSON and/or PDF.
//
//	go run ./examples/bulkverify -dir DATA -company ID [-trust FILE.pem]...
//	    [-fiscal 2026 | -from DATE -to DATE] [-at RFC3339]
//	    [-csv FILE] [-json FILE] [-pdf FILE] [-quiet]
//
// -fiscal N is the Japanese fiscal year N: April 1 of N to March 31 of
// N+1, Japan time. DATE is YYYY-MM-DD (Japan time) or RFC 3339. Without
// -csv, -json and -pdf the CSV goes to standard output. Exit status: 0
// when every object passed, 1 when any did not, 2 on usage errors or when
// the run could not complete. -h prints the usage and exits 0.
package main

import (
	"cloud.google.com/go/civil"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/bulkverify"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/pemfile"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

var jst = time.FixedZone("JST", 9*3600)

func parseDate(s string) (civil.Date, error) {
	d, err := civil.ParseDate(s)
	if err != nil || !d.IsValid() {
		return civil.Date{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return d, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bulkverify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "keiyaku data directory (required)")
	company := fs.String("company", "", "company ID whose cases are verified (required)")
	var trust multiFlag
	fs.Var(&trust, "trust", "PEM file of trust anchors for signers (repeatable)")
	fiscal := fs.Int("fiscal", 0, "Japanese fiscal year: April 1 to March 31 (days in the company's time zone)")
	from := fs.String("from", "", "completed on or after this day, YYYY-MM-DD (the company's time zone)")
	to := fs.String("to", "", "completed on or before this day, YYYY-MM-DD (the company's time zone)")
	at := fs.String("at", "", "verification time, RFC 3339 (default now)")
	csvPath := fs.String("csv", "", "write the CSV report here")
	jsonPath := fs.String("json", "", "write the JSON report here")
	pdfPath := fs.String("pdf", "", "write the PDF report here")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // -h: the usage was asked for
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "bulkverify: "+format+"\n", a...)
		return 2
	}
	if *dir == "" || *company == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	req := &bulkverify.Request{}
	var err error
	if *fiscal != 0 {
		if *from != "" || *to != "" {
			return fail("-fiscal and -from/-to exclude each other")
		}
		req.CompletedFrom = civil.Date{Year: *fiscal, Month: time.April, Day: 1}
		req.CompletedTo = civil.Date{Year: *fiscal + 1, Month: time.March, Day: 31}
	}
	if *from != "" {
		if req.CompletedFrom, err = parseDate(*from); err != nil {
			return fail("-from: %v", err)
		}
	}
	if *to != "" {
		if req.CompletedTo, err = parseDate(*to); err != nil {
			return fail("-to: %v", err)
		}
	}
	if *at != "" {
		if req.At, err = time.Parse(time.RFC3339, *at); err != nil {
			return fail("-at: %v", err)
		}
	}
	var anchors []*x509.Certificate
	for _, f := range trust {
		certs, err := pemfile.Certificates(f)
		if err != nil {
			return fail("-trust %s: %v", f, err)
		}
		anchors = append(anchors, certs...)
	}
	svc, err := keiyaku.Open(ctx, keiyaku.Config{Dir: *dir, TrustAnchors: anchors})
	if err != nil {
		return fail("%v", err)
	}
	defer svc.Close()

	var sinks bulkverify.Tee
	var files []*os.File
	for _, o := range []struct {
		path string
		make func(io.Writer) bulkverify.Sink
	}{
		{*csvPath, func(w io.Writer) bulkverify.Sink { return bulkverify.NewCSVWriter(w) }},
		{*jsonPath, func(w io.Writer) bulkverify.Sink { return bulkverify.NewJSONWriter(w) }},
		{*pdfPath, func(w io.Writer) bulkverify.Sink {
			return bulkverify.NewPDFWriter(w, "Ikkatsu kensho (bulk verification) - company "+*company)
		}},
	} {
		if o.path == "" {
			continue
		}
		f, err := os.Create(o.path)
		if err != nil {
			return fail("%v", err)
		}
		files = append(files, f)
		sinks = append(sinks, o.make(f))
	}
	if len(sinks) == 0 {
		sinks = append(sinks, bulkverify.NewCSVWriter(stdout))
	}
	// A company administrator sees every case of the company.
	p := account.Principal{UserID: "bulkverify", CompanyID: *company, Admin: true}
	if !*quiet {
		total, err := countCases(ctx, svc, p, req)
		if err != nil {
			return fail("%v", err)
		}
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("cases"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("cases"), progressbar.OptionClearOnFinish())
		req.Progress = func(cases, _ int) { _ = bar.Set(cases) }
		defer bar.Finish()
	}
	sum, err := svc.Bulk.Run(ctx, p, req, sinks)
	for _, f := range files {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stderr, "bulkverify: %d cases, %d objects: %d passed, %d failed, %d indeterminate (verified at %s)\n",
		sum.Cases, sum.Objects, sum.Passed, sum.Failed, sum.Indeterminate, sum.At.Format(time.RFC3339))
	if sum.Passed != sum.Objects {
		return 1
	}
	return 0
}

// countCases counts the cases Run will verify, for the progress bar.
func countCases(ctx context.Context, svc *keiyaku.Service, p account.Principal, req *bulkverify.Request) (int, error) {
	q := &casework.Query{States: []casework.State{casework.StateCompleted}, CompletedFrom: req.CompletedFrom, CompletedTo: req.CompletedTo, Limit: 200}
	n := 0
	for {
		page, err := svc.Cases.Search(ctx, p, q)
		if err != nil {
			return 0, err
		}
		n += len(page.Cases)
		if page.Next == "" {
			return n, nil
		}
		q.Cursor = page.Next
	}
}
