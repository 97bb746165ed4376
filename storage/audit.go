package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// auditDomain separates audit-chain hashes from every other SHA-256 use.
const auditDomain = "keiyaku/audit/v1"

// ChainHash returns the hash of entry e following an entry whose hash is
// prev (nil or empty for the first entry):
//
//	SHA-256("keiyaku/audit/v1" || len(prev) || prev || canonical(e))
//
// canonical(e) is Seq and Time (Unix nanoseconds) as 8-byte big-endian
// integers followed by ActorUserID, ActorCompanyID, RemoteAddr, Action,
// CaseID and Detail, each as a 4-byte big-endian length and its bytes.
// Length prefixes make the encoding injective, so no two different entries
// share an encoding. e.PrevHash and e.Hash are not part of it.
func ChainHash(prev []byte, e *AuditEntry) []byte {
	h := sha256.New()
	h.Write([]byte(auditDomain))
	var n [8]byte
	writeBytes := func(b []byte) {
		binary.BigEndian.PutUint32(n[:4], uint32(len(b)))
		h.Write(n[:4])
		h.Write(b)
	}
	writeBytes(prev)
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.Time.UnixNano()))
	h.Write(n[:])
	for _, s := range []string{e.ActorUserID, e.ActorCompanyID, e.RemoteAddr, e.Action, e.CaseID, e.Detail} {
		writeBytes([]byte(s))
	}
	return h.Sum(nil)
}

// SealAudit assigns Seq, PrevHash and Hash to entries appended after an
// entry with sequence number lastSeq and hash lastHash (0 and nil for an
// empty log). Time is normalised to UTC with nanosecond precision, as
// stored. Backends call it inside the transaction that appends.
func SealAudit(lastSeq int64, lastHash []byte, entries []AuditEntry) {
	for i := range entries {
		e := &entries[i]
		e.Seq = lastSeq + 1
		e.Time = time.Unix(0, e.Time.UnixNano()).UTC()
		e.PrevHash = append([]byte(nil), lastHash...)
		e.Hash = ChainHash(lastHash, e)
		lastSeq, lastHash = e.Seq, e.Hash
	}
}

// ErrChainBroken is the cause of every error VerifyChain returns; the
// returned error is of kind kerr.Internal (stored data is not what was
// written) and wraps ErrChainBroken.
var ErrChainBroken = kerr.E(kerr.Internal, "storage.VerifyChain", "audit hash chain broken")

// ChainVerifier checks an audit log piece by piece, so that a log of any
// length can be verified in bounded memory. The zero value expects the log
// to start at Seq 1.
type ChainVerifier struct {
	lastSeq  int64
	lastHash []byte
}

// Next checks the next entries. It returns an error wrapping ErrChainBroken
// that names the first entry whose sequence number, previous hash or hash is
// not what the chain before it implies.
func (v *ChainVerifier) Next(entries []AuditEntry) error {
	for i := range entries {
		e := &entries[i]
		switch {
		case e.Seq != v.lastSeq+1:
			return kerr.E(kerr.Internal, "storage.VerifyChain", "entry %d follows entry %d: an entry is missing or inserted: %w", e.Seq, v.lastSeq, ErrChainBroken)
		case !bytes.Equal(e.PrevHash, v.lastHash):
			return kerr.E(kerr.Internal, "storage.VerifyChain", "entry %d does not name the hash of entry %d: %w", e.Seq, v.lastSeq, ErrChainBroken)
		case !bytes.Equal(e.Hash, ChainHash(v.lastHash, e)):
			return kerr.E(kerr.Internal, "storage.VerifyChain", "entry %d was altered after it was written: %w", e.Seq, ErrChainBroken)
		}
		v.lastSeq, v.lastHash = e.Seq, e.Hash
	}
	return nil
}

// Last returns the sequence number and hash of the last entry checked. An
// embedder that keeps (Seq, Hash) somewhere out of the store's reach (a
// timestamp, a printed report) can detect truncation of the log's tail.
func (v *ChainVerifier) Last() (int64, []byte) { return v.lastSeq, v.lastHash }

// VerifyChain checks a whole log read from s, page by page. It returns the
// number of entries checked, and an error wrapping ErrChainBroken if the
// chain is broken, or the store's error if it could not be read.
func VerifyChain(ctx context.Context, s AuditStore) (int64, error) {
	var v ChainVerifier
	for {
		page, err := s.ListAudit(ctx, v.lastSeq, "", 500)
		if err != nil {
			return v.lastSeq, kerr.Wrap("storage.VerifyChain", err)
		}
		if len(page) == 0 {
			return v.lastSeq, nil
		}
		if err := v.Next(page); err != nil {
			return v.lastSeq, err
		}
	}
}
