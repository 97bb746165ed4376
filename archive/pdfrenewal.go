package archive

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// PDFRenewalDue reports whether the sealed PDF of size bytes read from r
// needs RenewPDF now: NeedsPDFRenewal on a report made at Config.Clock()
// against Config.TrustAnchors with the validation data the file embeds,
// offline and without revocation checks (only the newest document
// timestamp's TSA chain and its expiry matter here; the renewal itself
// fetches what it needs). It also returns that report, except on the fast
// path: a PDF whose last revision is a document timestamp covering the
// whole file (as SealPDF and RenewPDF write them) is judged by that
// token alone, read from the file's tail, and the report is nil. Errors: kerr.Invalid
// for a nil reader or a size that is not positive, kerr.Unavailable when
// reading fails or ctx is done.
func (s *Service) PDFRenewalDue(ctx context.Context, r io.ReaderAt, size int64, horizon time.Duration) (bool, *signature.Report, error) {
	const op = "archive.PDFRenewalDue"
	if r == nil || size <= 0 {
		return false, nil, kerr.E(kerr.Invalid, op, "need a reader and a positive size (got size %d)", size)
	}
	if der := lastDocTimestamp(r, size); der != nil {
		if due, ok := s.tokenDue(der, horizon); ok {
			return due, nil, nil
		}
	}
	rep, err := s.offlineReport(ctx, r, size)
	if err != nil {
		return false, nil, kerr.Wrap(op, err)
	}
	return s.NeedsPDFRenewal(rep, horizon), rep, nil
}

// offlineReport validates the PDF at Config.Clock() against
// Config.TrustAnchors with what it embeds, offline, without revocation.
func (s *Service) offlineReport(ctx context.Context, r io.ReaderAt, size int64) (*signature.Report, error) {
	rep, err := signature.Validate(ctx, r, size, &signature.ValidateOptions{
		At:            s.clock(),
		TrustAnchors:  s.cfg.TrustAnchors,
		Intermediates: s.cfg.Certs,
		Revocation:    signature.RevocationOff,
	})
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, "archive.offlineReport", "validating the PDF", err)
	}
	return rep, nil
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
	rep, verr := s.offlineReport(ctx, r, size)
	if verr != nil {
		return nil, kerr.Wrap(op, verr)
	}
	for _, n := range sealedPrefixes(rep, size) {
		out, perr := s.RenewRecordHashTree(ctx, h, io.NewSectionReader(r, 0, n), der)
		if !errors.Is(perr, kerr.Invalid) {
			return out, perr
		}
	}
	return nil, err
}

// tailSize is how much of a PDF's end lastDocTimestamp reads: the last
// revision of a sealed PDF, a document timestamp's dictionary with its
// /Contents (a token of a few KB, hex, padded), xref and trailer.
const tailSize = 256 << 10

// lastDocTimestamp returns the RFC 3161 token in the /Contents of the
// signature dictionary whose /ByteRange ends at the end of the file, when
// the file's last tailSize bytes hold it; nil otherwise (the caller then
// validates the whole file).
func lastDocTimestamp(r io.ReaderAt, size int64) []byte {
	start := max(0, size-tailSize)
	tail := make([]byte, size-start)
	if _, err := r.ReadAt(tail, start); err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	at := bytes.LastIndex(tail, []byte("/ByteRange"))
	if at < 0 {
		return nil
	}
	rest := tail[at+len("/ByteRange"):]
	open, end := bytes.IndexByte(rest, '['), bytes.IndexByte(rest, ']')
	if open < 0 || end < open {
		return nil
	}
	f := strings.Fields(string(rest[open+1 : end]))
	if len(f) != 4 {
		return nil
	}
	var br [4]int64
	for i, x := range f {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil || n < 0 {
			return nil
		}
		br[i] = n
	}
	// [0 a b c]: the hex string <...> lies in [a, b), and b+c is the end.
	if br[0] != 0 || br[2]+br[3] != size || br[1] < start+1 || br[2] <= br[1]+2 || br[2]-br[1] > tailSize {
		return nil
	}
	hexed := tail[br[1]-start : br[2]-start]
	if hexed[0] != '<' || hexed[len(hexed)-1] != '>' {
		return nil
	}
	raw := make([]byte, hex.DecodedLen(len(hexed)-2))
	n, err := hex.Decode(raw, hexed[1:len(hexed)-1])
	if err != nil {
		return nil
	}
	// The token is one DER SEQUENCE; the rest is zero padding.
	s := cryptobyte.String(raw[:n])
	var el cryptobyte.String
	if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) {
		return nil
	}
	return el
}

// tokenDue decides renewal from a document timestamp token alone, by its
// TSA certificate's path (validated against Config.TrustAnchors now,
// cached per certificate for as long as the path is valid): whether the
// token's signature verifies is original verification's question, not
// the schedule's. ok is false when the token does not parse, does not
// carry its TSA certificate or the path does not verify now (the caller
// then validates the whole file).
func (s *Service) tokenDue(der []byte, horizon time.Duration) (due, ok bool) {
	p, err := timestamp.Parse(der)
	if err != nil || p.Signer == nil {
		return false, false
	}
	now := s.clock()
	key := string(p.Signer.Raw)
	if w, hit := s.paths.Load(key); hit {
		if w := w.(pathWindow); !now.Before(w.from) && !now.After(w.until) {
			return !now.Add(horizon).Before(w.until), true
		}
	}
	roots, inter := s.pools()
	chains, err := p.Signer.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: withCerts(inter, p.Certificates), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return false, false
	}
	w := pathWindow{until: chainNotAfter(chains[0])}
	for _, c := range chains[0] {
		if c.NotBefore.After(w.from) {
			w.from = c.NotBefore
		}
	}
	s.paths.Store(key, w)
	return !now.Add(horizon).Before(w.until), true
}

// pathWindow is when a verified TSA path is valid: from its latest
// NotBefore to its earliest NotAfter.
type pathWindow struct{ from, until time.Time }
