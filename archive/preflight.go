package archive

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
)

// CheckSeal tells, before a case is completed, whether SealPDF could seal
// the signed PDF of size bytes read from r with the validation data this
// Service has now (Config.Certs, OCSPs, CRLs, Online): it runs the DSS
// step of sealing into io.Discard, stores nothing and asks no TSA. It
// returns the missing chains and revocation data as problems, none when
// the signatures can be sealed (always none with Config.AllowIncomplete).
// The timestamping authority's own chain is not covered: it is the
// service's, not the upload's.
//
// It implements casework.SealChecker. Errors: kerr.Invalid for a file
// without signatures or that cannot be updated; kerr.Unavailable when
// reading r or ctx fails.
func (s *Service) CheckSeal(ctx context.Context, r io.ReaderAt, size int64) ([]string, error) {
	const op = "archive.CheckSeal"
	if r == nil || size <= 0 {
		return nil, kerr.E(kerr.Invalid, op, "need a reader and a positive size (got size %d)", size)
	}
	err := signature.AddValidationData(ctx, r, size, io.Discard, s.extendOptions())
	if errors.Is(err, signature.ErrMissingValidationData) {
		msg := strings.TrimPrefix(err.Error(), signature.ErrMissingValidationData.Error()+": ")
		return strings.Split(msg, "; "), nil
	}
	if err != nil {
		return nil, s.extendError(op, "checking the validation data", err)
	}
	return nil, nil
}
