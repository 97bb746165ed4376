package pkcs11

import (
	"crypto/x509"

	"github.com/keiyaku/keiyaku/kerr"
)

// Config chooses a key in a token. Module, one of TokenLabel and Slot, and
// one of KeyLabel and KeyID are required.
type Config struct {
	// Module is the path of the token's PKCS#11 library, e.g.
	// /usr/lib/softhsm/libsofthsm2.so or the vendor's .so.
	Module string
	// TokenLabel selects the token by its label (CK_TOKEN_INFO.label).
	TokenLabel string
	// Slot selects the token by slot ID instead; nil means unused.
	Slot *int
	// PIN is the user PIN (read it with ReadPIN). Empty means the token
	// needs no login (CKF_LOGIN_REQUIRED unset).
	PIN string
	// KeyLabel (CKA_LABEL) and KeyID (CKA_ID) select the private key; when
	// both are given the key must match both. Exactly one key may match.
	KeyLabel string
	KeyID    []byte
	// Certificate is the signer certificate; nil means the certificate on
	// the token with the key's CKA_ID (or, without KeyID, its CKA_LABEL).
	// Either way it must hold the key's public key.
	Certificate *x509.Certificate
	// ChainLabels name further certificates on the token (CKA_LABEL), the
	// chain from Certificate towards a trust anchor; they are appended to
	// Key.Chain in this order after Chain.
	ChainLabels []string
	// Chain holds chain certificates given by the caller. May be nil.
	Chain []*x509.Certificate
	// Sessions is how many signatures the token may compute at once
	// (PKCS#11 sessions besides the one that keeps the login); 0 means 1,
	// one session, the safe choice for IC cards and USB tokens. Raise it
	// for an HSM that signs in parallel. At most 64.
	Sessions int
}

// maxSessions bounds Config.Sessions.
const maxSessions = 64

func (c *Config) check() error {
	const op = "pkcs11.Open"
	switch {
	case c.Module == "":
		return kerr.E(kerr.Invalid, op, "no PKCS#11 module given: name the token's library (.so)")
	case c.TokenLabel == "" && c.Slot == nil:
		return kerr.E(kerr.Invalid, op, "no token given: give its label or its slot number")
	case c.TokenLabel != "" && c.Slot != nil:
		return kerr.E(kerr.Invalid, op, "give the token's label or its slot number, not both")
	case c.KeyLabel == "" && len(c.KeyID) == 0:
		return kerr.E(kerr.Invalid, op, "no key given: give its label or its ID")
	case c.Sessions < 0 || c.Sessions > maxSessions:
		return kerr.E(kerr.Invalid, op, "Sessions is %d: want 0 to %d", c.Sessions, maxSessions)
	}
	return nil
}
