package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/signature/pkcs11"
)

// keyFlags says where the key is: PEM files, a PKCS#12 file or a PKCS#11
// token.
type keyFlags struct {
	key, cert, chain, p12, pwFile  string
	module, token, keyLabel, keyID string
	slot                           int
	chainLabels                    []string
	pinFile, pinEnv                string
	sessions                       int
}

// signingKey is the loaded key; close releases a token session.
type signingKey struct {
	signer crypto.Signer
	cert   *x509.Certificate
	chain  []*x509.Certificate
	close  func() error
}

// maxKeyFile bounds key, certificate and PKCS#12 files.
const maxKeyFile = 1 << 20

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err == nil && len(b) > maxKeyFile {
		err = fmt.Errorf("%s is larger than %d bytes", path, maxKeyFile)
	}
	return b, err
}

func loadKey(f *keyFlags) (*signingKey, error) {
	sources := 0
	if f.p12 != "" {
		sources++
	}
	if f.key != "" {
		sources++
	}
	if f.module != "" {
		sources++
	}
	switch {
	case sources > 1:
		return nil, errors.New("give one of -key/-cert, -p12 or -pkcs11-module, not several")
	case f.module != "":
		return loadToken(f)
	case f.p12 != "":
		der, err := readSmall(f.p12)
		if err != nil {
			return nil, err
		}
		pw := ""
		if f.pwFile != "" {
			b, err := readSmall(f.pwFile)
			if err != nil {
				return nil, err
			}
			pw = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
		}
		// go-pkcs12 reads both the modern files (PBES2 with AES-256-CBC
		// and PBKDF2, HMAC-SHA-256 MAC: OpenSSL 3's default) and the
		// legacy ones (3DES, RC2-40, SHA-1 MAC); x/crypto/pkcs12 reads only
		// the legacy ones.
		key, cert, cas, err := pkcs12.DecodeChain(der, pw)
		if err != nil {
			if errors.Is(err, pkcs12.ErrIncorrectPassword) {
				return nil, fmt.Errorf("read %s: the password is wrong: put the right one on the first line of -password-file", f.p12)
			}
			return nil, fmt.Errorf("read %s: %w", f.p12, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("read %s: the key (%T) cannot sign", f.p12, key)
		}
		return match(signer, append([]*x509.Certificate{cert}, cas...))
	case f.key != "" && f.cert != "":
		b, err := readSmall(f.key)
		if err != nil {
			return nil, err
		}
		var signer crypto.Signer
		for {
			var blk *pem.Block
			if blk, b = pem.Decode(b); blk == nil {
				break
			}
			if !strings.HasSuffix(blk.Type, "PRIVATE KEY") {
				continue
			}
			if signer != nil {
				return nil, errors.New("more than one private key given")
			}
			if signer, err = pemfile.ParseKey(blk.Bytes); err != nil {
				return nil, err
			}
		}
		if signer == nil {
			return nil, fmt.Errorf("%s holds no PEM private key", f.key)
		}
		certs, err := pemfile.Certificates(f.cert)
		if err != nil {
			return nil, err
		}
		if f.chain != "" {
			chain, err := pemfile.Certificates(f.chain)
			if err != nil {
				return nil, err
			}
			certs = append(certs, chain...)
		}
		return match(signer, certs)
	}
	return nil, errors.New("give -key and -cert, -p12, or -pkcs11-module with a token and a key")
}

// match picks the certificate of signer among certs; the others are the
// chain.
func match(signer crypto.Signer, certs []*x509.Certificate) (*signingKey, error) {
	pub, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, err
	}
	k := &signingKey{signer: signer, close: func() error { return nil }}
	for _, c := range certs {
		if k.cert == nil && bytes.Equal(c.RawSubjectPublicKeyInfo, pub) {
			k.cert = c
			continue
		}
		k.chain = append(k.chain, c)
	}
	if k.cert == nil {
		return nil, errors.New("no certificate matches the private key")
	}
	return k, nil
}

func loadToken(f *keyFlags) (*signingKey, error) {
	if f.key != "" || f.p12 != "" {
		return nil, errors.New("give -pkcs11-module or a key file, not both")
	}
	pin, err := pkcs11.ReadPIN(f.pinFile, f.pinEnv)
	if err != nil {
		return nil, err
	}
	cfg := pkcs11.Config{Module: f.module, TokenLabel: f.token, PIN: pin, KeyLabel: f.keyLabel,
		ChainLabels: f.chainLabels, Sessions: f.sessions}
	if f.slot >= 0 {
		cfg.Slot = &f.slot
	}
	if f.keyID != "" {
		if cfg.KeyID, err = hex.DecodeString(f.keyID); err != nil {
			return nil, fmt.Errorf("-pkcs11-key-id %q: want hexadecimal", f.keyID)
		}
	}
	if f.cert != "" {
		certs, err := pemfile.Certificates(f.cert)
		if err != nil {
			return nil, err
		}
		cfg.Certificate = certs[0]
	}
	if f.chain != "" {
		if cfg.Chain, err = pemfile.Certificates(f.chain); err != nil {
			return nil, err
		}
	}
	k, err := pkcs11.Open(cfg)
	if err != nil {
		return nil, err
	}
	return &signingKey{signer: k, cert: k.Certificate, chain: k.Chain, close: k.Close}, nil
}
