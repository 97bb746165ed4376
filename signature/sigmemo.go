package signature

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"sync"
)

// issuedBy reports whether parent's key signed child and parent's name is
// child's issuer. Results are remembered (a signature that verified once
// verifies forever; one that failed, fails forever): building the DSS and
// validating contract after contract from the same companies checks the
// same CA signatures again and again, and a P-384 verification costs about
// a millisecond. The memo is bounded; past maxIssuedBy it starts afresh.
func issuedBy(child, parent *x509.Certificate) bool {
	if !bytes.Equal(parent.RawSubject, child.RawIssuer) {
		return false
	}
	k := [2][32]byte{sha256.Sum256(child.Raw), sha256.Sum256(parent.Raw)}
	issuedByMu.Lock()
	ok, seen := issuedByMemo[k]
	issuedByMu.Unlock()
	if seen {
		return ok
	}
	ok = child.CheckSignatureFrom(parent) == nil
	issuedByMu.Lock()
	if len(issuedByMemo) >= maxIssuedBy {
		issuedByMemo = map[[2][32]byte]bool{}
	}
	issuedByMemo[k] = ok
	issuedByMu.Unlock()
	return ok
}

// selfSigned reports whether c is a self-issued certificate signed by its
// own key.
func selfSigned(c *x509.Certificate) bool { return issuedBy(c, c) }

const maxIssuedBy = 8192

var (
	issuedByMu   sync.Mutex
	issuedByMemo = map[[2][32]byte]bool{}
)
