package renewal

import (
	"context"
	"io"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

// MaxPDFGrowth bounds what one PDF renewal may add to a sealed PDF (the
// DSS with certificates, OCSP responses and CRLs, and the new document
// timestamp), in bytes; a renewal that would add more fails with
// kerr.Invalid and changes nothing.
const MaxPDFGrowth = 16 << 20

// pdfDue is a sealed PDF to renew.
type pdfDue struct {
	c   *casework.Case
	idx int // in c.Sealed
}

// brokenPDF is a sealed PDF the pass could not check, and why.
type brokenPDF struct {
	c   *casework.Case
	err error
}

// pdfIsDue reports whether the sealed PDF f needs RenewPDF now.
func (r *Renewer) pdfIsDue(ctx context.Context, f casework.File) (bool, error) {
	ra, err := r.cfg.Blobs.ReaderAt(ctx, f.Key, f.Size)
	if err != nil {
		return false, err
	}
	due, _, err := r.cfg.Archive.PDFRenewalDue(ctx, ra, f.Size, r.cfg.Margin)
	return due, err
}

// renewPDF renews the sealed PDF p (archive.RenewPDF: DSS for its newest
// document timestamp, then a new document timestamp), stores the result
// as a new blob and only then points the case at it; the old blob stays.
func (r *Renewer) renewPDF(ctx context.Context, p pdfDue) error {
	f := p.c.Sealed[p.idx]
	ra, err := r.cfg.Blobs.ReaderAt(ctx, f.Key, f.Size)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := r.cfg.Archive.RenewPDF(ctx, ra, f.Size, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	key, size, err := r.cfg.Blobs.Put(ctx, pr, f.Size+MaxPDFGrowth)
	pr.CloseWithError(io.ErrClosedPipe) // unblocks RenewPDF if Put stopped early
	if rerr := <-done; rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	if size <= f.Size {
		return kerr.E(kerr.Internal, "renewal.RenewDue", "the renewed %s of case %q is not longer than the sealed one", f.Name, p.c.ID)
	}
	n := f
	n.Key, n.Size = key, size
	return r.cfg.Cases.ReplaceSealed(ctx, p.c, map[int]casework.File{p.idx: n}, r.cfg.Actor,
		"PAdES renewal: validation data for the newest document timestamp and a new document timestamp (ETSI EN 319 142-1 §5.5)")
}
