package signature

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"time"
)

// RevocationPolicy says how Validate treats revocation information.
type RevocationPolicy string

const (
	// RevocationSoftFail checks every source it has; a source that cannot be
	// reached, or a certificate with no revocation information, is reported
	// as a reason but does not fail the signature. This is the default.
	RevocationSoftFail RevocationPolicy = "soft-fail"
	// RevocationHardFail requires a definite "good" status for the signer
	// certificate; without one the signature is INDETERMINATE/TRY_LATER.
	RevocationHardFail RevocationPolicy = "hard-fail"
	// RevocationOff skips revocation checking.
	RevocationOff RevocationPolicy = "off"
)

// ParseRevocationPolicy turns "off", "soft-fail" or "hard-fail" into a
// policy; the empty string gives the default, soft-fail.
func ParseRevocationPolicy(s string) (RevocationPolicy, error) {
	switch RevocationPolicy(s) {
	case "", RevocationSoftFail:
		return RevocationSoftFail, nil
	case RevocationHardFail:
		return RevocationHardFail, nil
	case RevocationOff:
		return RevocationOff, nil
	}
	return "", fmt.Errorf("unknown revocation policy %q: want off, soft-fail or hard-fail", s)
}

// ValidateOptions are the knobs of Validate. A nil *ValidateOptions means the
// zero value: validate now, trust nothing (every chain then ends in
// NO_CERTIFICATE_CHAIN_FOUND), soft-fail revocation from embedded data only.
type ValidateOptions struct {
	// At is the validation time; zero means time.Now(). Like
	// x509.VerifyOptions.CurrentTime.
	At time.Time
	// TrustAnchors are the roots a signer or TSA chain must end in.
	TrustAnchors []*x509.Certificate
	// SystemRoots adds the operating system's roots to TrustAnchors.
	SystemRoots bool
	// Intermediates are extra certificates for path building, beside those
	// in each CMS and in the document security store (DSS).
	Intermediates []*x509.Certificate
	// Revocation is the revocation policy; zero means RevocationSoftFail.
	Revocation RevocationPolicy
	// Online allows fetching OCSP responses and CRLs over the network when
	// the document does not embed them.
	Online bool
	// HTTPClient is used for online revocation checks; nil means a client
	// with a 10 s timeout.
	HTTPClient *http.Client
	// AllowWeakAlgorithms accepts SHA-1 digests and RSA keys under 2048
	// bits, which the default policy refuses (CRYPTO_CONSTRAINTS_FAILURE).
	AllowWeakAlgorithms bool
	// OCSPs and CRLs are DER OCSP responses and CRLs supplied beside the
	// document (an offline or in-house PKI), consulted after what the
	// document embeds and before the network; nil means none. They do
	// not change the PAdES level, which counts what the document holds.
	OCSPs, CRLs [][]byte
}

func (o *ValidateOptions) at() time.Time {
	if o.At.IsZero() {
		return time.Now()
	}
	return o.At
}

func (o *ValidateOptions) revocation() RevocationPolicy {
	if o.Revocation == "" {
		return RevocationSoftFail
	}
	return o.Revocation
}

func (o *ValidateOptions) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}
