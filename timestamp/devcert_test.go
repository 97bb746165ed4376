package timestamp_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/timestamp"
)

// TestDevelopmentCertificate: the development TSA certificate is accepted
// as a TSA certificate (critical, sole timeStamping EKU) and its tokens
// verify with the certificate as trust anchor.
func TestDevelopmentCertificate(t *testing.T) {
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	key, cert, err := timestamp.DevelopmentCertificate(now, now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := timestamp.CheckTSACertificate(cert); err != nil {
		t.Fatalf("CheckTSACertificate: %v", err)
	}
	if !cert.NotBefore.Before(now) || !cert.NotAfter.Equal(now.AddDate(1, 0, 0)) {
		t.Fatalf("validity %v to %v", cert.NotBefore, cert.NotAfter)
	}
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{Signer: key, Certificate: cert, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1}, Clock: func() time.Time { return now }, Serials: timestamp.NewMemorySerialStore(0)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("contract"))
	tok, err := a.Timestamp(context.Background(), crypto.SHA256, sum[:], &timestamp.TimestampOptions{CertReq: true})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if _, err := timestamp.Verify(tok.Raw, sum[:], &timestamp.VerifyOptions{Roots: roots}); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}
