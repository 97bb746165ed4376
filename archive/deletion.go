package archive

import (
	"context"
	"crypto/sha256"
	"errors"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/timestamp"
)

// StampDeletion returns an RFC 3161 token from Config.Timestamper over
// digest, the SHA-256 of a deletion record (storage.DeletionRecord.Sum):
// the retention sweep's proof of when a case was removed and what it
// held (casework.DeletionStamper). A digest that is not 32 bytes is
// kerr.Invalid; a TSA that fails, kerr.Unavailable.
func (s *Service) StampDeletion(ctx context.Context, digest []byte) ([]byte, error) {
	const op = "archive.StampDeletion"
	if len(digest) != sha256.Size {
		return nil, kerr.E(kerr.Invalid, op, "a deletion record digest is a SHA-256 (32 bytes), not %d bytes", len(digest))
	}
	tok, err := s.stamp(ctx, digest)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "timestamping the deletion record", err)
	}
	return tok, nil
}

// ErrDeletionRecord is the cause of VerifyDeletionRecord's errors about
// the record itself (kind kerr.Invalid).
var ErrDeletionRecord = errors.New("deletion record does not verify")

// VerifyDeletionRecord checks a deletion record: its Digest is the
// SHA-256 of its content (storage.DeletionRecord.Sum) and its Token is an
// RFC 3161 token over that digest from a TSA that chains to the roots of
// Config (TrustAnchors and Certs). It returns the token (its Time is when
// the record was stamped) or an error wrapping ErrDeletionRecord.
func (s *Service) VerifyDeletionRecord(rec *storage.DeletionRecord) (*timestamp.Token, error) {
	const op = "archive.VerifyDeletionRecord"
	if rec == nil {
		return nil, kerr.E(kerr.Invalid, op, "%w: no record", ErrDeletionRecord)
	}
	if string(rec.Digest) != string(rec.Sum()) {
		return nil, kerr.E(kerr.Invalid, op, "%w: the digest is not the SHA-256 of the record: it was changed", ErrDeletionRecord)
	}
	roots, inter := s.pools()
	tok, err := timestamp.Verify(rec.Token, rec.Digest, &timestamp.VerifyOptions{Roots: roots, Intermediates: inter, ExtraCerts: s.cfg.Certs})
	if err != nil {
		return nil, kerr.E(kerr.Invalid, op, "%w: timestamp token: %v", ErrDeletionRecord, err)
	}
	return tok, nil
}
