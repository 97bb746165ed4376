package keiyaku

import (
	"crypto"
	"time"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/signature"
)

// RenewalPolicy is the policy of the renewal pass (renewal.Config).
type RenewalPolicy struct {
	// Margin: evidence whose newest TSA certificate expires within it is
	// renewed; 0 means renewal.DefaultMargin (a year).
	Margin time.Duration
	// Weak are hash algorithms no longer trusted: evidence records whose
	// newest chain uses one get a hash-tree renewal (RFC 4998 §5.3) with
	// Strong (0 means SHA-512). Hash-tree renewal to an algorithm other
	// than SHA-256 needs a TSA that stamps it: the local authority
	// (TSAConfig.Signer or the development TSA) does, and so does a
	// TSAConfig.Timestamper that is also an ers.Stamper; a remote URL
	// stamps SHA-256 only.
	Weak   []crypto.Hash
	Strong crypto.Hash
}

// authorityTSA is the local authority as both the Timestamper of PDFs and
// the ers.Stamper of evidence records (any hash algorithm).
type authorityTSA struct {
	signature.Timestamper
	ers.Stamper
}

// tsaStamper is ts as an ers.Stamper when it is one, else nil (the
// archive then stamps SHA-256 through ts).
func tsaStamper(ts signature.Timestamper) ers.Stamper {
	if st, ok := ts.(ers.Stamper); ok {
		return st
	}
	return nil
}
