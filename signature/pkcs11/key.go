//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"github.com/keiyaku/keiyaku/kerr"
)

// Key is a private key in a PKCS#11 token: a crypto.Signer whose Sign asks
// the token to sign, so the key never leaves it. Certificate and Chain
// are the signer certificate and its chain (from Config or the token).
// A Key is safe for concurrent use; at most Config.Sessions signatures
// run at once, the others wait. Close it when done.
type Key struct {
	Certificate *x509.Certificate
	Chain       []*x509.Certificate

	ctx    *crypto11.Context
	signer crypto11.Signer
	pub    crypto.PublicKey

	mu     sync.RWMutex
	closed bool
}

// Open logs in to the token cfg names and finds the key and its
// certificates. Errors, by kind: kerr.Invalid for an incomplete Config or
// a module that cannot be loaded; kerr.NotFound when the token, the key,
// the certificate or a chain label is not there; kerr.Unauthenticated for
// a wrong PIN; kerr.PermissionDenied for a locked PIN; kerr.Invalid when
// the key is not RSA or ECDSA, more than one key matches, or the
// certificate does not hold the key's public key; kerr.Unavailable when
// the token stops answering. On error nothing stays open.
func Open(cfg Config) (*Key, error) {
	const op = "pkcs11.Open"
	if err := cfg.check(); err != nil {
		return nil, err
	}
	sessions := cfg.Sessions
	if sessions == 0 {
		sessions = 1
	}
	c11 := &crypto11.Config{
		Path: cfg.Module, TokenLabel: cfg.TokenLabel, SlotNumber: cfg.Slot, Pin: cfg.PIN,
		// crypto11 keeps one extra session open to hold the login.
		MaxSessions:       sessions + 1,
		LoginNotSupported: cfg.PIN == "",
	}
	ctx, err := crypto11.Configure(c11)
	if err != nil {
		return nil, classify(op, "open the token", err)
	}
	k := &Key{ctx: ctx}
	if err := k.find(&cfg); err != nil {
		ctx.Close()
		return nil, err
	}
	return k, nil
}

func (k *Key) find(cfg *Config) error {
	const op = "pkcs11.Open"
	var label []byte
	if cfg.KeyLabel != "" {
		label = []byte(cfg.KeyLabel)
	}
	keys, err := k.ctx.FindKeyPairs(cfg.KeyID, label)
	if err != nil {
		return classify(op, "find the key", err)
	}
	switch len(keys) {
	case 0:
		return kerr.E(kerr.NotFound, op, "no key pair with label %q and ID %x on the token: list the token's objects (pkcs11-tool -O) and give the right label or ID", cfg.KeyLabel, cfg.KeyID)
	case 1:
	default:
		return kerr.E(kerr.Invalid, op, "%d key pairs match label %q and ID %x: give the key's ID as well", len(keys), cfg.KeyLabel, cfg.KeyID)
	}
	k.signer = keys[0]
	k.pub = k.signer.Public()
	switch k.pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return kerr.E(kerr.Invalid, op, "the key is a %T: only RSA and ECDSA keys can sign", k.pub)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		return kerr.E(kerr.Invalid, op, "the key's public half: %w", err)
	}
	k.Certificate = cfg.Certificate
	if k.Certificate == nil {
		// The certificate of a key pair shares its CKA_ID (PKCS#11 v2.40
		// §4.6.3); without an ID look it up by the key's label.
		var cert *x509.Certificate
		if len(cfg.KeyID) > 0 {
			cert, err = k.ctx.FindCertificate(cfg.KeyID, nil, nil)
		} else {
			cert, err = k.ctx.FindCertificate(nil, label, nil)
		}
		if err != nil {
			return classify(op, "read the certificate from the token", err)
		}
		if cert == nil {
			return kerr.E(kerr.NotFound, op, "the token holds no certificate with the key's ID or label: store it on the token or give it as a file")
		}
		k.Certificate = cert
	}
	if !bytes.Equal(k.Certificate.RawSubjectPublicKeyInfo, pubDER) {
		return kerr.E(kerr.Invalid, op, "certificate %q does not hold the key's public key: give the key's own certificate", k.Certificate.Subject.CommonName)
	}
	k.Chain = append(k.Chain, cfg.Chain...)
	for _, l := range cfg.ChainLabels {
		cert, err := k.ctx.FindCertificate(nil, []byte(l), nil)
		if err != nil {
			return classify(op, "read chain certificate "+l+" from the token", err)
		}
		if cert == nil {
			return kerr.E(kerr.NotFound, op, "the token holds no certificate labelled %q", l)
		}
		k.Chain = append(k.Chain, cert)
	}
	return nil
}

// Public returns the key's public key (*rsa.PublicKey or *ecdsa.PublicKey).
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Sign asks the token to sign digest: PKCS#1 v1.5 for RSA with a
// crypto.Hash, RSASSA-PSS with *rsa.PSSOptions (the salt length must be
// given or equal to the hash, not PSSSaltLengthAuto), ECDSA as an ASN.1
// signature. rand is not used: the token draws its own randomness. After
// Close, or when the token is gone, it returns an error of kind
// kerr.Unavailable.
func (k *Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	const op = "pkcs11.Key.Sign"
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, kerr.E(kerr.Unavailable, op, "the token's session is closed: open the key again")
	}
	if po, ok := opts.(*rsa.PSSOptions); ok && po.SaltLength == rsa.PSSSaltLengthAuto {
		// crypto11 cannot sign with an automatic salt length; the
		// hash length is what RFC 8017 §9.1 recommends.
		o := *po
		o.SaltLength = rsa.PSSSaltLengthEqualsHash
		opts = &o
	}
	sig, err := k.signer.Sign(nil, digest, opts)
	if err != nil {
		return nil, classify(op, "the token did not sign", err)
	}
	return sig, nil
}

// Close logs out and closes the sessions; it waits for signatures under
// way. After Close, Sign fails with kerr.Unavailable. Close may be called
// more than once.
func (k *Key) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	return k.ctx.Close()
}

// classify gives a PKCS#11 error its kind and a message that says what
// to do (return values: PKCS#11 v2.40 §5.1).
func classify(op, what string, err error) error {
	var rv p11.Error
	if errors.As(err, &rv) {
		switch rv {
		case p11.CKR_PIN_INCORRECT:
			return kerr.WrapKind(kerr.Unauthenticated, op, what+": the PIN is wrong (the token counts failed attempts and locks the PIN after a few)", err)
		case p11.CKR_PIN_LOCKED, p11.CKR_PIN_EXPIRED:
			return kerr.WrapKind(kerr.PermissionDenied, op, what+": the PIN is locked or expired: have the security officer reset it", err)
		case p11.CKR_PIN_LEN_RANGE, p11.CKR_PIN_INVALID:
			return kerr.WrapKind(kerr.Invalid, op, what+": the PIN has a length or characters the token does not accept", err)
		case p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_DEVICE_ERROR,
			p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_CRYPTOKI_NOT_INITIALIZED,
			p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_KEY_HANDLE_INVALID, p11.CKR_USER_NOT_LOGGED_IN,
			p11.CKR_GENERAL_ERROR, p11.CKR_TOKEN_NOT_RECOGNIZED:
			return kerr.WrapKind(kerr.Unavailable, op, what+": the token is gone or stopped answering: insert it (or check the HSM) and try again", err)
		case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID, p11.CKR_KEY_TYPE_INCONSISTENT,
			p11.CKR_KEY_FUNCTION_NOT_PERMITTED:
			return kerr.WrapKind(kerr.Invalid, op, what+": the token cannot sign this way with this key", err)
		}
		return kerr.WrapKind(kerr.Unavailable, op, what, err)
	}
	// crypto11 does not export its own errors (token not found, module
	// not loadable, context closed), so they are told apart by their text;
	// TestOpenErrors and TestTokenGoneMidRun catch a change of wording on
	// upgrade.
	msg := err.Error()
	switch {
	case msg == "could not find PKCS#11 token":
		return kerr.WrapKind(kerr.NotFound, op, what+": no token with that label or slot: check that it is inserted and the label is right", err)
	case strings.HasPrefix(msg, "failed to create module context"):
		return kerr.WrapKind(kerr.Invalid, op, what+": the PKCS#11 module cannot be loaded: check the library path", err)
	case msg == "cannot used closed Context":
		return kerr.WrapKind(kerr.Unavailable, op, what+": the token's session is closed: open the key again", err)
	}
	return kerr.WrapKind(kerr.Unavailable, op, what, err)
}
