package pemfile

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/ocsp"
)

// MaxRevocationSize bounds a CRL or OCSP response file: a CA's CRL can be
// large, but one beyond this is not what a signer hands a command.
const MaxRevocationSize = 16 << 20

// CRL returns the DER of the CRL in the file at path, DER or PEM ("X509
// CRL"), after checking that it parses; the error names the file.
func CRL(path string) ([]byte, error) {
	b, err := readSmall(path, MaxRevocationSize)
	if err != nil {
		return nil, err
	}
	der, err := ParseCRL(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return der, nil
}

// ParseCRL returns the DER of the CRL in b (DER, or PEM "X509 CRL"), or an
// error saying why it is not one.
func ParseCRL(b []byte) ([]byte, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "X509 CRL" {
			return nil, fmt.Errorf("a PEM %q block, not \"X509 CRL\"", blk.Type)
		}
		b = blk.Bytes
	}
	if _, err := x509.ParseRevocationList(b); err != nil {
		return nil, fmt.Errorf("not a CRL: %w", err)
	}
	return bytes.Clone(b), nil
}

// OCSPResponse returns the DER of the OCSP response (RFC 6960) in the
// file at path, after checking that it parses as a successful response;
// the error names the file.
func OCSPResponse(path string) ([]byte, error) {
	b, err := readSmall(path, MaxRevocationSize)
	if err != nil {
		return nil, err
	}
	der, err := ParseOCSPResponse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return der, nil
}

// ParseOCSPResponse returns b when it is a DER OCSP response that parses
// (signature not checked: the validator checks it against the issuer), or
// an error saying why not.
func ParseOCSPResponse(b []byte) ([]byte, error) {
	if _, err := ocsp.ParseResponse(b, nil); err != nil {
		return nil, fmt.Errorf("not an OCSP response: %w", err)
	}
	return bytes.Clone(b), nil
}

func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}
