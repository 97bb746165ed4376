package bulkverify

import (
	"cloud.google.com/go/civil"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
)

// Config configures a Verifier.
type Config struct {
	// Cases lists the completed cases; required.
	Cases *casework.Service
	// Blobs holds the sealed files; required.
	Blobs *storage.Blobs
	// Archive verifies them; required. Its clock and trust anchors apply.
	Archive *archive.Service
	// Workers is how many cases are verified at a time; 0 means
	// GOMAXPROCS.
	Workers int
	// Clock reads the wall time of Summary.Started and Finished; nil means
	// time.Now.
	Clock func() time.Time
}

// Verifier runs bulk verifications. It is safe for concurrent use.
type Verifier struct {
	cfg Config
}

// New checks cfg. Errors have kind kerr.Invalid naming the field.
func New(cfg Config) (*Verifier, error) {
	const op = "bulkverify.New"
	switch {
	case cfg.Cases == nil:
		return nil, kerr.E(kerr.Invalid, op, "Config.Cases is required")
	case cfg.Blobs == nil:
		return nil, kerr.E(kerr.Invalid, op, "Config.Blobs is required")
	case cfg.Archive == nil:
		return nil, kerr.E(kerr.Invalid, op, "Config.Archive is required")
	case cfg.Workers < 0:
		return nil, kerr.E(kerr.Invalid, op, "Config.Workers must not be negative")
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Verifier{cfg: cfg}, nil
}

// Request says what to verify.
type Request struct {
	// CompletedFrom and CompletedTo bound the day of completion, inclusive,
	// in the time zone of the principal's company (as casework.Query
	// does; a fiscal year: April 1 to March 31); zero means unbounded.
	CompletedFrom, CompletedTo civil.Date
	// At is the time to verify at; zero means the archive's clock.
	At time.Time
	// Progress, when set, is called after each case with the number of
	// cases and objects done.
	Progress func(cases, objects int)
}

// Result is a row's verdict.
type Result string

// Results.
const (
	Passed        Result = "PASSED"
	Failed        Result = "FAILED"
	Indeterminate Result = "INDETERMINATE"
)

// Kinds of object.
const (
	KindSignature         = "signature"
	KindDocumentTimestamp = "document-timestamp"
	KindSealedPDF         = "sealed-pdf"
	KindEvidenceRecord    = "evidence-record"
)

// Row is one verified object.
type Row struct {
	CaseID   string `json:"case_id"`
	CaseName string `json:"case_name"`
	// Completed is when the case was completed.
	Completed time.Time `json:"completed"`
	// File is the sealed file (or, for an evidence record, the file it
	// proves); Object names what in it was verified (a signature field, a
	// document timestamp field, "PAdES B-LTA", "RFC 4998 evidence record").
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Object string `json:"object"`
	// Time is the signing or stamping time proven, TSA or Signer who says
	// so; zero or empty when not proven.
	Time   time.Time `json:"time,omitzero"`
	Signer string    `json:"signer,omitempty"`
	Result Result    `json:"result"`
	Reason string    `json:"reason"`
}

// Summary is the totals of a run.
type Summary struct {
	CompanyID                  string     `json:"company_id"`
	CompletedFrom, CompletedTo civil.Date `json:"-"`
	From                       string     `json:"completed_from"`
	To                         string     `json:"completed_to"`
	// At is the time verified at; Started and Finished the wall time of
	// the run.
	At       time.Time `json:"verified_at"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Cases    int       `json:"cases"`
	Objects  int       `json:"objects"`
	Passed   int       `json:"passed"`
	Failed   int       `json:"failed"`
	// Indeterminate counts rows that prove nothing either way.
	Indeterminate int `json:"indeterminate"`
}

// Sink receives the rows of a run in order and then its summary.
type Sink interface {
	Row(*Row) error
	Close(*Summary) error
}

// pageSize is how many cases are listed and verified at a time.
const pageSize = 64

// Run verifies every completed case p may see (a company administrator:
// every case of the company) completed within req's bounds, and writes
// the rows and the summary to sink. A verdict is a row, never an error: a
// sealed file whose stored bytes no longer match their SHA-256 is a FAILED
// row, and the run goes on. Errors are those that stop the run:
// kerr.Invalid for a nil sink or request; errors of Cases.Search, of
// reading a sealed file (kerr.Internal for one missing), of the sink
// (kerr.Unavailable) and ctx's.
func (v *Verifier) Run(ctx context.Context, p account.Principal, req *Request, sink Sink) (*Summary, error) {
	const op = "bulkverify.Run"
	if req == nil || sink == nil {
		return nil, kerr.E(kerr.Invalid, op, "need a request and a sink")
	}
	sum := &Summary{CompanyID: p.CompanyID, CompletedFrom: req.CompletedFrom, CompletedTo: req.CompletedTo, Started: v.cfg.Clock().UTC()}
	if !req.CompletedFrom.IsZero() {
		sum.From = req.CompletedFrom.String()
	}
	if !req.CompletedTo.IsZero() {
		sum.To = req.CompletedTo.String()
	}
	opts := &archive.VerifyOptions{At: req.At}
	q := &casework.Query{
		States:        []casework.State{casework.StateCompleted},
		CompletedFrom: req.CompletedFrom, CompletedTo: req.CompletedTo,
		Sort: storage.SortCompleted, Limit: pageSize,
	}
	for {
		page, err := v.cfg.Cases.Search(ctx, p, q)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		rows := make([][]*Row, len(page.Cases))
		errs := make([]error, len(page.Cases))
		next := make(chan int)
		var wg sync.WaitGroup
		for range min(v.cfg.Workers, len(page.Cases)) {
			wg.Go(func() {
				for i := range next {
					rows[i], errs[i] = v.verifyCase(ctx, page.Cases[i], opts)
				}
			})
		}
		for i := range page.Cases {
			next <- i
		}
		close(next)
		wg.Wait()
		for i, c := range page.Cases {
			if errs[i] != nil {
				return nil, kerr.Wrap(op, fmt.Errorf("case %s: %w", c.ID, errs[i]))
			}
			for _, r := range rows[i] {
				switch r.Result {
				case Passed:
					sum.Passed++
				case Failed:
					sum.Failed++
				default:
					sum.Indeterminate++
				}
				sum.Objects++
				if err := sink.Row(r); err != nil {
					return nil, kerr.WrapKind(kerr.Unavailable, op, "writing the report", err)
				}
			}
			sum.Cases++
			if req.Progress != nil {
				req.Progress(sum.Cases, sum.Objects)
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	sum.At = req.At.UTC()
	if req.At.IsZero() {
		sum.At = v.cfg.Archive.Now()
	}
	sum.Finished = v.cfg.Clock().UTC()
	if err := sink.Close(sum); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "writing the report", err)
	}
	return sum, nil
}

// verifyCase verifies every sealed object of c.
func (v *Verifier) verifyCase(ctx context.Context, c *casework.Case, opts *archive.VerifyOptions) ([]*Row, error) {
	base := Row{CaseID: c.ID, CaseName: c.Name, Completed: c.CompletedAt}
	var rows []*Row
	evidence := map[string]casework.File{}
	for _, f := range c.Sealed {
		if b, ok := strings.CutSuffix(f.Name, ".ers"); ok {
			evidence[b] = f
		} else if b, ok := strings.CutSuffix(f.Name, ".tst"); ok && f.ContentType != "application/pdf" {
			evidence[b] = f
		}
	}
	var proven []casework.File // the files evidence is looked for
	reports := map[string]*archive.PDFVerification{}
	for _, f := range c.Sealed {
		if f.ContentType != "application/pdf" {
			continue
		}
		ra, err := v.cfg.Blobs.ReaderAt(ctx, f.Key, f.Size)
		var pv *archive.PDFVerification
		if err == nil {
			pv, err = v.cfg.Archive.VerifyPDF(ctx, ra, f.Size, opts)
		}
		if errors.Is(err, storage.ErrBlobCorrupt) {
			rows = append(rows, corrupt(base, f.Name, KindSealedPDF, "PAdES B-LTA original", err))
			continue
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, pdfRows(base, f.Name, pv)...)
		proven = append(proven, f)
		reports[f.Name] = pv
	}
	proven = append(proven, c.Supplements...)
	for _, f := range proven {
		ev, ok := evidence[f.Name]
		if !ok {
			if f.ContentType == "application/pdf" {
				continue // sealed before PDFs got records
			}
			r := base
			r.File, r.Kind, r.Object, r.Result, r.Reason = f.Name, KindEvidenceRecord, "evidence", Failed, "the case has no evidence for this file"
			rows = append(rows, &r)
			continue
		}
		fv, err := v.verifyFile(ctx, f, ev, reports[f.Name], opts)
		if errors.Is(err, storage.ErrBlobCorrupt) {
			rows = append(rows, corrupt(base, f.Name, KindEvidenceRecord, "evidence "+ev.Name, err))
			continue
		}
		if err != nil {
			return nil, err
		}
		r := base
		r.File, r.Kind = f.Name, KindEvidenceRecord
		r.Object = "RFC 3161 token chain " + ev.Name
		if fv.Record {
			r.Object = "RFC 4998 evidence record " + ev.Name
		}
		r.Time, r.Signer = fv.Time, fv.TSA
		r.Result = fileResult(fv)
		r.Reason = strings.Join(fv.Reasons, "; ")
		rows = append(rows, &r)
	}
	return rows, nil
}

// verifyFile checks f against its evidence ev; pv is f's verdict when f
// is a sealed PDF (its record proves the PDF as sealed, a prefix of it
// after renewals: archive.VerifyPDFRecord), else nil.
func (v *Verifier) verifyFile(ctx context.Context, f, ev casework.File, pv *archive.PDFVerification, opts *archive.VerifyOptions) (*archive.FileVerification, error) {
	er, err := v.cfg.Blobs.Open(ctx, ev.Key, ev.Size)
	if err != nil {
		return nil, err
	}
	if ev.Size <= 0 || ev.Size > ers.MaxRecordSize {
		return nil, kerr.E(kerr.Internal, "bulkverify.Run", "the evidence file %s has %d bytes", ev.Name, ev.Size)
	}
	der := make([]byte, ev.Size)
	_, err = io.ReadFull(er, der)
	er.Close()
	if err != nil {
		return nil, err
	}
	if pv != nil {
		ra, err := v.cfg.Blobs.ReaderAt(ctx, f.Key, f.Size)
		if err != nil {
			return nil, err
		}
		return v.cfg.Archive.VerifyPDFRecord(ctx, ra, f.Size, pv.Report, der, opts)
	}
	r, err := v.cfg.Blobs.Open(ctx, f.Key, f.Size)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return v.cfg.Archive.VerifyFile(ctx, r, der, opts)
}

// corrupt is the row of an object whose stored bytes no longer match the
// SHA-256 they were stored under: changed, so FAILED, and the run goes on.
func corrupt(base Row, file, kind, object string, err error) *Row {
	r := base
	r.File, r.Kind, r.Object, r.Result = file, kind, object, Failed
	r.Reason = "the stored bytes were changed (they no longer match their SHA-256): " + err.Error()
	return &r
}

func fileResult(fv *archive.FileVerification) Result {
	switch {
	case fv.Original:
		return Passed
	case fv.Failed:
		return Failed
	}
	return Indeterminate
}

// pdfRows is a row per signature and document timestamp, and one for the
// sealed PDF as a whole.
func pdfRows(base Row, name string, pv *archive.PDFVerification) []*Row {
	var rows []*Row
	failed := false
	for _, e := range pv.Report.Signatures {
		r := base
		r.File, r.Object = name, e.Field
		r.Kind = KindSignature
		if e.Kind == signature.KindDocumentTimestamp {
			r.Kind = KindDocumentTimestamp
		}
		if e.Timestamp != nil {
			r.Time, r.Signer = e.Timestamp.Time, e.Timestamp.TSA
		}
		if e.Kind != signature.KindDocumentTimestamp && e.Signer != nil {
			r.Signer = e.Signer.CommonName
		}
		switch e.Indication {
		case signature.TotalPassed:
			r.Result = Passed
		case signature.TotalFailed:
			r.Result, failed = Failed, true
		default:
			r.Result = Indeterminate
		}
		r.Reason = string(e.Indication)
		if e.SubIndication != "" {
			r.Reason += "/" + string(e.SubIndication)
		}
		if len(e.Reasons) > 0 {
			r.Reason += ": " + strings.Join(e.Reasons, "; ")
		}
		rows = append(rows, &r)
	}
	r := base
	r.File, r.Kind, r.Object = name, KindSealedPDF, "PAdES B-LTA original"
	r.Time, r.Signer = pv.Sealed, pv.TSA
	r.Reason = strings.Join(pv.Reasons, "; ")
	switch {
	case pv.Original:
		r.Result = Passed
	case failed || pv.Report.Error != "":
		r.Result = Failed
	default:
		r.Result = Indeterminate
		for _, e := range pv.Report.Signatures {
			if e.Kind == signature.KindDocumentTimestamp && e.Coverage != signature.CoverageEntireFile && e.Revision == newestRevision(pv.Report) {
				r.Result = Failed // changed after its seal
			}
		}
	}
	return append(rows, &r)
}

func newestRevision(rep *signature.Report) int {
	n := -1
	for _, e := range rep.Signatures {
		if e.Kind == signature.KindDocumentTimestamp && e.Revision > n {
			n = e.Revision
		}
	}
	return n
}
