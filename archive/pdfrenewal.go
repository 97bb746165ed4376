package archive

import (
	"context"
	"crypto"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
)

// PDFRenewalDue reports whether the sealed PDF of size bytes read from r
// needs RenewPDF now: NeedsPDFRenewal on a report made at Config.Clock()
// against Config.TrustAnchors with the validation data the file embeds,
// offline and without revocation checks (only the newest document
// timestamp's TSA chain and its expiry matter here; the renewal itself
// fetches what it needs). It also returns that report. Errors: kerr.Invalid
// for a nil reader or a size that is not positive, kerr.Unavailable when
// reading fails or ctx is done.
func (s *Service) PDFRenewalDue(ctx context.Context, r io.ReaderAt, size int64, horizon time.Duration) (bool, *signature.Report, error) {
	const op = "archive.PDFRenewalDue"
	if r == nil || size <= 0 {
		return false, nil, kerr.E(kerr.Invalid, op, "need a reader and a positive size (got size %d)", size)
	}
	rep, err := signature.Validate(ctx, r, size, &signature.ValidateOptions{
		At:            s.clock(),
		TrustAnchors:  s.cfg.TrustAnchors,
		Intermediates: s.cfg.Certs,
		Revocation:    signature.RevocationOff,
	})
	if err != nil {
		return false, nil, kerr.WrapKind(kerr.Unavailable, op, "validating the PDF", err)
	}
	return s.NeedsPDFRenewal(rep, horizon), rep, nil
}

// VerifyPDFRecord verifies a sealed PDF's RFC 4998 evidence record (the
// second line of evidence beside its document timestamps) against the PDF
// of size bytes read from r. The record proves the PDF as it was sealed;
// RenewPDF later appends validation data and a new document timestamp, so
// the record is checked against the whole file and, when that fails,
// against the file as it ended at each of its document timestamps, newest
// first (rep is the PDF's report from VerifyPDF or signature.Validate; nil
// means the whole file only). The first verdict that is original wins;
// when none is, the whole file's verdict is returned. Errors as for
// VerifyFile.
func (s *Service) VerifyPDFRecord(ctx context.Context, r io.ReaderAt, size int64, rep *signature.Report, record []byte, opts *VerifyOptions) (*FileVerification, error) {
	const op = "archive.VerifyPDFRecord"
	if r == nil || size < 0 {
		return nil, kerr.E(kerr.Invalid, op, "need a reader and a non-negative size (got size %d)", size)
	}
	whole, err := s.VerifyFile(ctx, io.NewSectionReader(r, 0, size), record, opts)
	if err != nil || whole.Original {
		return whole, err
	}
	for _, n := range sealedPrefixes(rep, size) {
		v, err := s.VerifyFile(ctx, io.NewSectionReader(r, 0, n), record, opts)
		if err != nil {
			return nil, err
		}
		if v.Original {
			return v, nil
		}
	}
	return whole, nil
}

// sealedPrefixes are the lengths of the file at the end of each document
// timestamp's revision (ByteRange[2]+ByteRange[3]) shorter than size,
// longest first, without repeats.
func sealedPrefixes(rep *signature.Report, size int64) []int64 {
	if rep == nil {
		return nil
	}
	var out []int64
	for _, e := range rep.Signatures {
		if e.Kind != signature.KindDocumentTimestamp || len(e.ByteRange) != 4 {
			continue
		}
		if n := e.ByteRange[2] + e.ByteRange[3]; n > 0 && n < size && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// RenewPDFRecordHashTree is RenewRecordHashTree for a sealed PDF's
// evidence record: the file the record proves is the PDF as it was sealed,
// which after RenewPDF is a prefix of the PDF of size bytes read from r
// (see VerifyPDFRecord); the whole file is tried first, then the file as
// it ended at each document timestamp, newest first. Errors as for
// RenewRecordHashTree; kerr.Invalid when no prefix is the file the record
// proves.
func (s *Service) RenewPDFRecordHashTree(ctx context.Context, h crypto.Hash, r io.ReaderAt, size int64, der []byte) ([]byte, error) {
	const op = "archive.RenewPDFRecordHashTree"
	if r == nil || size <= 0 {
		return nil, kerr.E(kerr.Invalid, op, "need a reader and a positive size (got size %d)", size)
	}
	out, err := s.RenewRecordHashTree(ctx, h, io.NewSectionReader(r, 0, size), der)
	if !errors.Is(err, kerr.Invalid) {
		return out, err
	}
	_, rep, verr := s.PDFRenewalDue(ctx, r, size, 0)
	if verr != nil {
		return nil, verr
	}
	for _, n := range sealedPrefixes(rep, size) {
		out, perr := s.RenewRecordHashTree(ctx, h, io.NewSectionReader(r, 0, n), der)
		if !errors.Is(perr, kerr.Invalid) {
			return out, perr
		}
	}
	return nil, err
}
