package storage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// AuditKey keys the audit chain (issue 11): with a key held outside the
// database, whoever can write the database can no longer rewrite an entry
// and recompute the hashes after it, because the hashes are HMACs.
// Rotating the key means configuring a new AuditKey (new ID) for writing
// and keeping the old ones for verification: each entry records the ID of
// the key it was sealed with.
type AuditKey struct {
	// ID names the key in each entry: 1 to 32 characters from
	// A-Z a-z 0-9 . _ -.
	ID string
	// Secret is at least 32 bytes (RFC 2104 §3: at least the hash
	// length).
	Secret []byte
}

// Check returns kerr.Invalid, under op, for a malformed key.
func (k *AuditKey) Check(op string) error {
	if k == nil {
		return nil
	}
	if len(k.ID) == 0 || len(k.ID) > 32 {
		return kerr.E(kerr.Invalid, op, "an audit key ID must be 1 to 32 characters")
	}
	for _, r := range k.ID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return kerr.E(kerr.Invalid, op, "audit key ID %q may hold only A-Z a-z 0-9 . _ -", k.ID)
		}
	}
	if len(k.Secret) < 32 {
		return kerr.E(kerr.Invalid, op, "audit key %q: the secret must be at least 32 bytes, not %d", k.ID, len(k.Secret))
	}
	return nil
}

// keyedDomain separates keyed chain MACs from every other use of a key.
const keyedDomain = "keiyaku/audit/v2"

// KeyedChainHash returns the hash of entry e following an entry whose hash
// is prev, under the key secret named keyID:
//
//	HMAC-SHA-256(secret, "keiyaku/audit/v2" || len(keyID) || keyID || len(prev) || prev || canonical(e))
//
// with canonical(e) and the length prefixes as in ChainHash.
func KeyedChainHash(secret []byte, keyID string, prev []byte, e *AuditEntry) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(keyedDomain))
	writeLenPrefixed(h, []byte(keyID))
	writeEntry(h, prev, e)
	return h.Sum(nil)
}

func writeLenPrefixed(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// writeEntry writes len(prev) || prev || canonical(e).
func writeEntry(h hash.Hash, prev []byte, e *AuditEntry) {
	writeLenPrefixed(h, prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.Time.UnixNano()))
	h.Write(n[:])
	for _, s := range []string{e.ActorUserID, e.ActorCompanyID, e.RemoteAddr, e.Action, e.CaseID, e.Detail} {
		writeLenPrefixed(h, []byte(s))
	}
}

// SealAuditWith is SealAudit under key: each entry gets KeyID = key.ID
// and its Hash from KeyedChainHash. A nil key is SealAudit (plain SHA-256,
// KeyID empty).
func SealAuditWith(key *AuditKey, lastSeq int64, lastHash []byte, entries []AuditEntry) {
	if key == nil {
		SealAudit(lastSeq, lastHash, entries)
		return
	}
	for i := range entries {
		e := &entries[i]
		e.Seq = lastSeq + 1
		e.Time = time.Unix(0, e.Time.UnixNano()).UTC()
		e.PrevHash = append([]byte(nil), lastHash...)
		e.KeyID = key.ID
		e.Hash = KeyedChainHash(key.Secret, key.ID, lastHash, e)
		lastSeq, lastHash = e.Seq, e.Hash
	}
}
