package cms

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"
)

func TestCheckEdDSADigest(t *testing.T) {
	sha256 := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	tests := []struct {
		name        string
		sig, digest asn1.ObjectIdentifier
		ok          bool
	}{
		{"Ed25519 with SHA-512", OIDEd25519, OIDSHA512, true},
		{"Ed25519 with SHA-256", OIDEd25519, sha256, false},
		{"Ed25519 with SHAKE256", OIDEd25519, OIDSHAKE256, false},
		{"Ed448 with SHAKE256", OIDEd448, OIDSHAKE256, true},
		{"Ed448 with SHAKE256-len", OIDEd448, OIDSHAKE256Len, true},
		{"Ed448 with SHA-512", OIDEd448, OIDSHA512, false},
		{"ECDSA with SHA-256 is not EdDSA", OIDECDSAWithSHA256, sha256, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			si := &SignerInfo{SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: tt.sig}, DigestAlgorithm: pkix.AlgorithmIdentifier{Algorithm: tt.digest}}
			err := si.CheckEdDSADigest()
			if tt.ok != (err == nil) {
				t.Fatalf("CheckEdDSADigest() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrUnsupported) {
				t.Errorf("error %v is not ErrUnsupported", err)
			}
		})
	}
}
