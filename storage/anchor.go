package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// AuditAnchor records that the audit chain had entry Seq with hash Hash
// at time At, proven by an RFC 3161 timestamp token over AnchorDigest(Seq,
// Hash). Whoever can write the database cannot move an anchor's time nor
// make the TSA sign a shorter log, so anchors prove the log's length: a
// tail removed after an anchor is found missing (issue 11).
type AuditAnchor struct {
	Seq   int64
	Hash  []byte
	At    time.Time // the token's genTime
	Token []byte    // DER TimeStampToken (RFC 3161 §2.4.2)
}

// AnchorStore keeps audit anchors, append-only.
type AnchorStore interface {
	// PutAuditAnchor appends a. Its Seq must name a stored audit entry
	// whose hash is a.Hash (else kerr.FailedPrecondition) and be greater
	// than the last anchor's (else kerr.Conflict). A nil or empty Token
	// is kerr.Invalid.
	PutAuditAnchor(ctx context.Context, a *AuditAnchor) error
	// ListAuditAnchors returns up to limit (1 to 1000, else kerr.Invalid)
	// anchors with Seq > afterSeq in ascending Seq order.
	ListAuditAnchors(ctx context.Context, afterSeq int64, limit int) ([]AuditAnchor, error)
	// LastAuditAnchor returns the anchor with the greatest Seq, or
	// kerr.NotFound if there is none.
	LastAuditAnchor(ctx context.Context) (*AuditAnchor, error)
}

// CheckAnchor returns kerr.Invalid, under op, for an anchor no backend
// stores.
func CheckAnchor(op string, a *AuditAnchor) error {
	if a == nil || a.Seq < 1 || len(a.Hash) == 0 || len(a.Token) == 0 || len(a.Token) > 64<<10 || a.At.IsZero() {
		return kerr.E(kerr.Invalid, op, "an anchor needs a Seq of at least 1, a Hash, a time and a token of at most 64 KiB")
	}
	return nil
}

// AnchorDigest is the SHA-256 digest an anchor's token stamps:
//
//	SHA-256("keiyaku/audit-anchor/v1" || Seq as 8 bytes big-endian || hash)
func AnchorDigest(seq int64, hash []byte) []byte {
	h := sha256.New()
	h.Write([]byte("keiyaku/audit-anchor/v1"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	h.Write(hash)
	return h.Sum(nil)
}

// AnchoredStore is an audit log with its anchors.
type AnchoredStore interface {
	AuditStore
	AnchorStore
}

// VerifyAnchoredChain checks the whole log of s with v (see ChainVerifier)
// and every anchor: each anchor's Seq must be an entry whose hash is the
// anchor's Hash, the log must reach the last anchor (a shorter log was
// truncated), and checkToken must accept each anchor's token for
// AnchorDigest(Seq, Hash) (the caller verifies it with its TSA's roots,
// e.g. timestamp.Verify). It returns how many entries and anchors held;
// on a broken chain or anchor the error wraps ErrChainBroken and entries
// is the Seq of the last entry that held, so entries+1 is the first that
// does not.
func VerifyAnchoredChain(ctx context.Context, s AnchoredStore, v *ChainVerifier, checkToken func(a *AuditAnchor, digest []byte) error) (entries int64, anchors int, err error) {
	const op = "storage.VerifyAnchoredChain"
	var pending []AuditAnchor // anchors not yet reached, ascending
	var anchorsAfter int64
	more := true
	nextAnchors := func() error {
		if !more || len(pending) > 0 {
			return nil
		}
		page, err := s.ListAuditAnchors(ctx, anchorsAfter, 500)
		if err != nil {
			return kerr.Wrap(op, err)
		}
		if len(page) == 0 {
			more = false
			return nil
		}
		anchorsAfter = page[len(page)-1].Seq
		pending = page
		return nil
	}
	for {
		page, err := s.ListAudit(ctx, v.lastSeq, "", 500)
		if err != nil {
			return v.lastSeq, anchors, kerr.Wrap(op, err)
		}
		for i := range page {
			if err := v.Next(page[i : i+1]); err != nil {
				return v.lastSeq, anchors, err
			}
			if err := nextAnchors(); err != nil {
				return v.lastSeq, anchors, err
			}
			for len(pending) > 0 && pending[0].Seq <= page[i].Seq {
				a := &pending[0]
				if a.Seq < page[i].Seq || !bytes.Equal(a.Hash, page[i].Hash) {
					return v.lastSeq - 1, anchors, kerr.E(kerr.Internal, op, "entry %d is not the entry the timestamp of %s anchored: %w", a.Seq, a.At.Format(time.RFC3339), ErrChainBroken)
				}
				if err := checkToken(a, AnchorDigest(a.Seq, a.Hash)); err != nil {
					return v.lastSeq - 1, anchors, kerr.WrapKind(kerr.Internal, op, "the timestamp anchoring entry "+strconv.FormatInt(a.Seq, 10)+" does not verify", fmt.Errorf("%w: %w", ErrChainBroken, err))
				}
				anchors++
				pending = pending[1:]
				if err := nextAnchors(); err != nil {
					return v.lastSeq, anchors, err
				}
			}
		}
		if len(page) == 0 {
			break
		}
	}
	if err := nextAnchors(); err != nil {
		return v.lastSeq, anchors, err
	}
	if len(pending) > 0 {
		a := pending[0]
		return v.lastSeq, anchors, kerr.E(kerr.Internal, op, "the log ends at entry %d, but a timestamp of %s proves entry %d existed: its tail was removed: %w",
			v.lastSeq, a.At.Format(time.RFC3339), a.Seq, ErrChainBroken)
	}
	return v.lastSeq, anchors, nil
}
