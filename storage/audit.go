package storage

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
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
	writeEntry(h, prev, e)
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
//
// With Keys set it checks a keyed chain (see AuditKey): every entry must
// name a key in Keys and carry that key's HMAC, so an entry rewritten with
// recomputed plain hashes fails. AllowUnkeyed additionally accepts plain
// entries before the first keyed one (a log begun before keys were
// configured); never after it.
type ChainVerifier struct {
	Keys         map[string][]byte
	AllowUnkeyed bool

	lastSeq  int64
	lastHash []byte
	keyed    bool // a keyed entry was seen
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
		case v.Keys == nil && e.KeyID != "":
			return kerr.E(kerr.Internal, "storage.VerifyChain", "entry %d is sealed with audit key %q: give the verifier its keys: %w", e.Seq, e.KeyID, ErrChainBroken)
		case v.Keys != nil && e.KeyID == "" && (!v.AllowUnkeyed || v.keyed):
			return kerr.E(kerr.Internal, "storage.VerifyChain", "entry %d is not sealed with an audit key: it was rewritten or written without one: %w", e.Seq, ErrChainBroken)
		case e.KeyID != "" && v.Keys[e.KeyID] == nil:
			return kerr.E(kerr.Internal, "storage.VerifyChain", "entry %d names audit key %q, which the verifier was not given: %w", e.Seq, e.KeyID, ErrChainBroken)
		case e.KeyID == "" && !bytes.Equal(e.Hash, ChainHash(v.lastHash, e)),
			e.KeyID != "" && !hmac.Equal(e.Hash, KeyedChainHash(v.Keys[e.KeyID], e.KeyID, v.lastHash, e)):
			return kerr.E(kerr.Internal, "storage.VerifyChain", "entry %d was altered after it was written: %w", e.Seq, ErrChainBroken)
		}
		v.keyed = v.keyed || e.KeyID != ""
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
	return VerifyChainWith(ctx, s, &ChainVerifier{})
}

// VerifyChainWith is VerifyChain with a verifier the caller configured
// (e.g. with Keys), which must not have checked anything yet.
func VerifyChainWith(ctx context.Context, s AuditStore, v *ChainVerifier) (int64, error) {
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
