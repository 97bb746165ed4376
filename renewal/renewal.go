// Package renewal keeps the evidence of completed cases alive: it finds
// every evidence record (RFC 4998) whose newest timestamp's TSA
// certificate expires within a margin, or whose hash algorithm the policy
// declares weak, and renews it — a timestamp renewal (RFC 4998 §5.2)
// batched under one timestamp, or a hash-tree renewal (§5.3) with a
// stronger algorithm — and turns the RFC 3161 tokens of cases sealed before
// evidence records into records (archive.ConvertTokenChain), storing the
// new record beside the old one and
// recording the change in the case's audit trail (casework.ReplaceSealed).
//
// The pass also renews sealed PDFs whose newest document timestamp's TSA
// certificate expires within the margin (archive.PDFRenewalDue): the DSS
// for that timestamp and a new document timestamp (archive.RenewPDF),
// stored as a new blob before the case points at it. The PDF's evidence
// record keeps proving the PDF as sealed, a prefix of the renewed one
// (archive.VerifyPDFRecord).
//
// A renewal never leaves less evidence: the renewed record holds the old
// one whole, a renewed PDF the old one whole, the old blob is kept, and
// the case row changes only after the new blob is stored; a failure (TSA
// down, revocation data unreachable) changes nothing, returns the error
// (the scheduled job, package jobs, retries it with backoff) and alerts
// the administrators of the companies concerned through the notice
// outbox (casework.AlertRenewalFailed: an audit entry and a notice
// notify.EventEvidenceRenewalFailed), at most once per AlertInterval per
// company. The administrators are told because the cases are theirs; the
// cause (the TSA, the revocation services) is the operator's to fix, and
// the operator sees it in the log and the job's errors.
package renewal

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// DefaultMargin is Config.Margin's default: renew a year before the TSA
// certificate expires.
const DefaultMargin = 365 * 24 * time.Hour

// Config configures a Renewer.
type Config struct {
	// Cases, Blobs and Archive are required; Archive's Timestamper (and
	// Stamper, for Strong) makes the renewals and its clock is now.
	Cases   *casework.Service
	Blobs   *storage.Blobs
	Archive *archive.Service
	// Margin: records whose newest TSA certificate expires within it are
	// renewed; 0 means DefaultMargin.
	Margin time.Duration
	// Weak are hash algorithms the policy no longer trusts; a record whose
	// newest chain uses one gets a hash-tree renewal with Strong. nil
	// means none (SHA-256 is fine today).
	Weak []crypto.Hash
	// Strong is the algorithm of hash-tree renewals; 0 means SHA-512.
	Strong crypto.Hash
	// Actor is the user ID written into audit entries; empty means
	// "system:renewal".
	Actor string
	// Logger receives a line per pass; nil means slog.Default().
	Logger *slog.Logger
}

// Renewer runs renewal passes. It is safe for concurrent use, but passes
// should not overlap (the job runs them one at a time).
type Renewer struct {
	cfg     Config
	alerted alerts
}

// New checks cfg. Errors have kind kerr.Invalid naming the field.
func New(cfg Config) (*Renewer, error) {
	const op = "renewal.New"
	switch {
	case cfg.Cases == nil || cfg.Blobs == nil || cfg.Archive == nil:
		return nil, kerr.E(kerr.Invalid, op, "Config.Cases, Config.Blobs and Config.Archive are required")
	case cfg.Margin < 0:
		return nil, kerr.E(kerr.Invalid, op, "Config.Margin must not be negative")
	}
	if cfg.Margin == 0 {
		cfg.Margin = DefaultMargin
	}
	if cfg.Strong == 0 {
		cfg.Strong = crypto.SHA512
	}
	if !ers.Supported(cfg.Strong) {
		return nil, kerr.E(kerr.Invalid, op, "Config.Strong %v is not supported", cfg.Strong)
	}
	if cfg.Actor == "" {
		cfg.Actor = "system:renewal"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Renewer{cfg: cfg, alerted: alerts{last: map[string]time.Time{}}}, nil
}

// Report says what a pass did.
type Report struct {
	// Checked is the number of evidence records (and old tokens) looked
	// at, Renewed those renewed by timestamp renewal, Rehashed by hash-tree
	// renewal, Converted the old RFC 3161 tokens turned into records,
	// Cases the cases changed.
	Checked, Renewed, Rehashed, Converted, Cases int
	// PDFsChecked is the number of sealed PDFs looked at, PDFs those
	// renewed (archive.RenewPDF).
	PDFsChecked, PDFs int
}

// pending is one record to renew.
type pending struct {
	c   *casework.Case
	idx int    // in c.Sealed
	der []byte // the record
	of  casework.File
}

// RenewDue runs one pass over every completed case. It returns what it
// did; the error is the first that stopped it (kerr.Unavailable when the
// TSA fails; the store's; ctx's), or, when the pass went to the end, the
// first sealed PDF that could not be checked or renewed (such a PDF does
// not hold up the others). What was renewed before an error stays
// renewed.
func (r *Renewer) RenewDue(ctx context.Context) (*Report, error) {
	const op = "renewal.RenewDue"
	rep := &Report{}
	var due, weak, old []pending
	var pdfs []pdfDue
	var broken []brokenPDF        // sealed PDFs that could not be read or judged
	verdicts := map[string]bool{} // newest token -> due, for this pass
	err := r.cfg.Cases.EachCompleted(ctx, func(c *casework.Case) error {
		for i, f := range c.Sealed {
			if f.ContentType == "application/pdf" {
				rep.PDFsChecked++
				ok, err := r.pdfIsDue(ctx, f)
				if err != nil {
					if ctx.Err() != nil {
						return err
					}
					broken = append(broken, brokenPDF{c, err})
					continue
				}
				if ok {
					pdfs = append(pdfs, pdfDue{c, i})
				}
				continue
			}
			if tb, ok := strings.CutSuffix(f.Name, ".tst"); ok && f.ContentType != "application/pdf" {
				// A token from before evidence records: convert it.
				if of, found := provenFile(c, tb); found {
					der, err := r.cfg.Blobs.ReadAll(ctx, f.Key, f.Size)
					if err != nil {
						return err
					}
					rep.Checked++
					old = append(old, pending{c, i, der, of})
				}
				continue
			}
			base, ok := strings.CutSuffix(f.Name, ".ers")
			if !ok {
				continue
			}
			der, err := r.cfg.Blobs.ReadAll(ctx, f.Key, f.Size)
			if err != nil {
				return err
			}
			rep.Checked++
			of, found := provenFile(c, base)
			if !found {
				continue
			}
			switch isWeak, isDue := r.judge(der, verdicts); {
			case isWeak:
				weak = append(weak, pending{c, i, der, of})
			case isDue:
				due = append(due, pending{c, i, der, of})
			}
		}
		return nil
	})
	if err != nil {
		return rep, kerr.Wrap(op, err)
	}
	// Sealed PDFs first: each its own document timestamp, each case
	// committed on its own. A PDF that cannot be renewed (its validation
	// data missing, its blob unreadable) does not hold up the others: the
	// pass goes on and returns that error at the end. When the TSA or the
	// network is down (kerr.Unavailable) the pass stops at once.
	changed := map[*casework.Case]bool{}
	var pdfErr error
	for _, b := range broken {
		r.alert(ctx, []*casework.Case{b.c}, b.err)
		r.cfg.Logger.ErrorContext(ctx, "renewal: a sealed PDF could not be checked; going on with the others", "case", b.c.ID, "error", b.err)
		if pdfErr == nil {
			pdfErr = b.err
		}
	}
	for _, p := range pdfs {
		if err := r.renewPDF(ctx, p); err != nil {
			r.alert(ctx, []*casework.Case{p.c}, err)
			if errors.Is(err, kerr.Unavailable) || ctx.Err() != nil {
				return rep, kerr.Wrap(op, err)
			}
			r.cfg.Logger.ErrorContext(ctx, "renewal: a sealed PDF could not be renewed; going on with the others", "case", p.c.ID, "error", err)
			if pdfErr == nil {
				pdfErr = err
			}
			continue
		}
		rep.PDFs++
		if !changed[p.c] {
			changed[p.c] = true
			rep.Cases++
		}
	}
	// Timestamp renewals: one TSA call for all of them (archive batches
	// beyond its BatchMax).
	if len(due) > 0 {
		ders := make([][]byte, len(due))
		for i, p := range due {
			ders[i] = p.der
		}
		renewed, err := r.cfg.Archive.RenewRecords(ctx, ders)
		if err != nil {
			r.alert(ctx, casesOf(due), err)
			return rep, kerr.Wrap(op, err)
		}
		for i := range due {
			due[i].der = renewed[i]
		}
		n, cases, err := r.store(ctx, due, "RFC 4998 timestamp renewal", changed)
		rep.Renewed += n
		rep.Cases += cases
		if err != nil {
			r.alert(ctx, casesOf(due), err)
			return rep, kerr.Wrap(op, err)
		}
	}
	for i, p := range weak {
		der, err := r.rehash(ctx, p)
		if err != nil {
			r.alert(ctx, []*casework.Case{p.c}, err)
			return rep, kerr.Wrap(op, err)
		}
		weak[i].der = der
	}
	n, cases, err := r.store(ctx, weak, fmt.Sprintf("RFC 4998 hash-tree renewal to %v", r.cfg.Strong), changed)
	rep.Rehashed += n
	rep.Cases += cases
	if err != nil {
		return rep, kerr.Wrap(op, err)
	}
	// Tokens from before evidence records become records while they still
	// prove their file; one that no longer does is left as it is (it
	// stays verifiable, and converting it would prove nothing more).
	var converted []pending
	for _, p := range old {
		rc, err := r.cfg.Blobs.Open(ctx, p.of.Key, p.of.Size)
		if err != nil {
			return rep, kerr.Wrap(op, err)
		}
		der, err := r.cfg.Archive.ConvertTokenChain(ctx, rc, [][]byte{p.der})
		rc.Close()
		if errors.Is(err, kerr.FailedPrecondition) {
			r.cfg.Logger.WarnContext(ctx, "renewal: a token no longer proves its file; left as it is", "case", p.c.ID, "file", p.of.Name, "error", err)
			continue
		}
		if err != nil {
			return rep, kerr.Wrap(op, err)
		}
		p.der = der
		converted = append(converted, p)
	}
	n, cases, err = r.storeAs(ctx, converted, "converted from an RFC 3161 token (archive.ConvertTokenChain)", true, changed)
	rep.Converted += n
	rep.Cases += cases
	if err != nil {
		return rep, kerr.Wrap(op, err)
	}
	r.cfg.Logger.InfoContext(ctx, "renewal: pass done", "checked", rep.Checked, "renewed", rep.Renewed, "rehashed", rep.Rehashed, "pdfs", rep.PDFs, "cases", rep.Cases)
	if pdfErr != nil {
		return rep, kerr.Wrap(op, pdfErr)
	}
	return rep, nil
}

// rehash is the hash-tree renewal of p's record, read against the file it
// proves (for a sealed PDF, the PDF as sealed: see
// archive.VerifyPDFRecord).
func (r *Renewer) rehash(ctx context.Context, p pending) ([]byte, error) {
	if p.of.ContentType == "application/pdf" {
		ra, err := r.cfg.Blobs.ReaderAt(ctx, p.of.Key, p.of.Size)
		if err != nil {
			return nil, err
		}
		return r.cfg.Archive.RenewPDFRecordHashTree(ctx, r.cfg.Strong, ra, p.of.Size, p.der)
	}
	rc, err := r.cfg.Blobs.Open(ctx, p.of.Key, p.of.Size)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return r.cfg.Archive.RenewRecordHashTree(ctx, r.cfg.Strong, rc, p.der)
}

// store writes the renewed records and replaces them in their cases, one
// commit per case; cases counts those not yet in changed (which it
// updates).
func (r *Renewer) store(ctx context.Context, ps []pending, what string, changed map[*casework.Case]bool) (records, cases int, err error) {
	return r.storeAs(ctx, ps, what, false, changed)
}

// storeAs is store; with converted, each X.tst becomes X.ers.
func (r *Renewer) storeAs(ctx context.Context, ps []pending, what string, converted bool, changed map[*casework.Case]bool) (records, cases int, err error) {
	byCase := map[*casework.Case]map[int]casework.File{}
	var order []*casework.Case
	for _, p := range ps {
		key, size, err := r.cfg.Blobs.PutBytesRetained(ctx, p.der, casework.RetainUntil(p.c.CompletedAt))
		if err != nil {
			return records, cases, err
		}
		if byCase[p.c] == nil {
			byCase[p.c] = map[int]casework.File{}
			order = append(order, p.c)
		}
		f := p.c.Sealed[p.idx]
		f.Key, f.Size = key, size
		if converted {
			f.Name, f.ContentType = strings.TrimSuffix(f.Name, ".tst")+".ers", casework.ContentTypeEvidenceRecord
		}
		byCase[p.c][p.idx] = f
	}
	for _, c := range order {
		if err := r.cfg.Cases.ReplaceSealed(ctx, c, byCase[c], r.cfg.Actor, what); err != nil {
			return records, cases, err
		}
		records += len(byCase[c])
		if !changed[c] {
			changed[c] = true
			cases++
		}
	}
	return records, cases, nil
}

// provenFile is the file a record named base+".ers" proves: a sealed PDF
// or a supplementary file of c.
func provenFile(c *casework.Case, base string) (casework.File, bool) {
	for _, f := range c.Sealed {
		if f.Name == base {
			return f, true
		}
	}
	for _, f := range c.Supplements {
		if f.Name == base {
			return f, true
		}
	}
	return casework.File{}, false
}

// judge says whether a record's newest chain uses a weak algorithm, and
// whether its newest timestamp's TSA expires within the margin
// (archive.NeedsRecordRenewal). Records sealed or renewed together share
// their newest timestamp: verdicts (per pass) keeps the answer for each.
// A record that does not parse is due (as NeedsRecordRenewal says).
func (r *Renewer) judge(der []byte, verdicts map[string]bool) (weak, due bool) {
	rec, err := ers.Parse(der)
	if err != nil {
		return false, true
	}
	last := rec.Chains[len(rec.Chains)-1]
	for _, w := range r.cfg.Weak {
		if last[0].Hash == w {
			return true, true
		}
	}
	key := string(last[len(last)-1].TimeStamp)
	due, ok := verdicts[key]
	if !ok {
		due = r.cfg.Archive.NeedsRecordRenewal(der, r.cfg.Margin, nil)
		verdicts[key] = due
	}
	return false, due
}
