//go:build !cgo

package pkcs11

import (
	"crypto"
	"crypto/x509"
	"io"

	"github.com/keiyaku/keiyaku/kerr"
)

// Key is a private key in a PKCS#11 token. In a build without cgo it
// cannot be opened.
type Key struct {
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
}

// Open fails in a build without cgo: PKCS#11 modules are C libraries.
func Open(cfg Config) (*Key, error) {
	return nil, kerr.E(kerr.FailedPrecondition, "pkcs11.Open", "this program was built with CGO_ENABLED=0; PKCS#11 needs cgo: rebuild with CGO_ENABLED=1 and a C compiler")
}

// Public is never reached: Open always fails without cgo.
func (k *Key) Public() crypto.PublicKey { return nil }

// Sign is never reached: Open always fails without cgo.
func (k *Key) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, kerr.E(kerr.FailedPrecondition, "pkcs11.Key.Sign", "built without cgo")
}

// Close does nothing without cgo.
func (k *Key) Close() error { return nil }
