// Package pemfile reads certificates and private keys from PEM files for
// the example programs and the facade's development TSA.
package pemfile

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxSize bounds what is read from one file: a PEM file of certificates
// or a key is small.
const MaxSize = 1 << 20

// Read returns the PEM blocks of the file at path, failing when the file
// is larger than MaxSize or holds no block.
func Read(path string) ([]*pem.Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxSize)
	}
	var blocks []*pem.Block
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		blocks = append(blocks, blk)
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return blocks, nil
}

// Certificates returns the CERTIFICATE blocks of the file at path, parsed;
// it fails when there is none or one does not parse.
func Certificates(path string) ([]*x509.Certificate, error) {
	blocks, err := Read(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, blk := range blocks {
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
	}
	return certs, nil
}

// PrivateKey returns the first private key of the file at path (PKCS #8,
// PKCS #1 or SEC 1).
func PrivateKey(path string) (crypto.Signer, error) {
	blocks, err := Read(path)
	if err != nil {
		return nil, err
	}
	for _, blk := range blocks {
		switch blk.Type {
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			k, err := ParseKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("%s: no PEM private key block", path)
}

// ParseKey parses a DER private key in PKCS #8, PKCS #1 or SEC 1 form.
func ParseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("private key of type %T cannot sign", k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("private key is not PKCS #8, PKCS #1 or SEC 1")
}
