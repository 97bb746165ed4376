package archive_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// exampleTSA is a local TSA on a self-signed certificate valid until
// notAfter, with the sole, critical timeStamping usage RFC 3161 §2.3
// requires, whose clock reads now.
func exampleTSA(name string, notAfter time.Time, now func() time.Time) (signature.Timestamper, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	tsa, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: key, Certificate: cert, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 2},
		Clock: now, Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		panic(err)
	}
	return signature.AuthorityTimestamper(tsa), cert
}

// ExampleService_StampFile stamps a supplementary file with a local TSA
// and runs original verification on it and on a modified copy.
func ExampleService_StampFile() {
	now := func() time.Time { return time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC) }
	tsa, cert := exampleTSA("Example TSA", time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC), now)
	svc, err := archive.New(archive.Config{
		Timestamper:  tsa,
		TrustAnchors: []*x509.Certificate{cert},
		Clock:        now,
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	const file = "見積書: 1,000,000 JPY"
	token, err := svc.StampFile(ctx, strings.NewReader(file))
	if err != nil {
		panic(err)
	}
	v, err := svc.VerifyFile(ctx, strings.NewReader(file), token, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("Original:", v.Original, v.Time.Format(time.RFC3339), v.TSA)
	v, err = svc.VerifyFile(ctx, strings.NewReader("見積書: 9,000,000 JPY"), token, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("Modified copy original:", v.Original)
	// Output:
	// Original: true 2026-04-01T09:00:00Z Example TSA
	// Modified copy original: false
}

// ExampleService_RenewFileToken keeps a file's evidence alive past its
// TSA's expiry: a day before, a second TSA stamps the file and the first
// token; years later the chain still proves the file.
func ExampleService_RenewFileToken() {
	at := func(y int, m time.Month, d int) func() time.Time {
		return func() time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	}
	expiry := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tsa1, cert1 := exampleTSA("TSA 1", expiry, at(2026, 4, 1))
	tsa2, cert2 := exampleTSA("TSA 2", time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC), at(2029, 12, 31))
	anchors := []*x509.Certificate{cert1, cert2}
	ctx := context.Background()
	const file = "議事録 2026-04-01"

	first, _ := archive.New(archive.Config{Timestamper: tsa1, TrustAnchors: anchors, Clock: at(2026, 4, 1)})
	token, err := first.StampFile(ctx, strings.NewReader(file))
	if err != nil {
		panic(err)
	}
	renewer, _ := archive.New(archive.Config{Timestamper: tsa2, TrustAnchors: anchors, Clock: at(2029, 12, 31), Logger: slog.New(slog.DiscardHandler)})
	fmt.Println("needs renewal:", renewer.NeedsFileRenewal([][]byte{token}, 30*24*time.Hour))
	renewal, err := renewer.RenewFileToken(ctx, strings.NewReader(file), [][]byte{token})
	if err != nil {
		panic(err)
	}

	later, _ := archive.New(archive.Config{Timestamper: tsa2, TrustAnchors: anchors, Clock: at(2031, 6, 1)})
	alone, _ := later.VerifyFile(ctx, strings.NewReader(file), token, nil)
	chain, _ := later.VerifyFile(ctx, strings.NewReader(file), token, &archive.VerifyOptions{Renewals: [][]byte{renewal}})
	fmt.Println("2031, first token alone:", alone.Original)
	fmt.Println("2031, with the renewal:", chain.Original, chain.Time.Format(time.DateOnly), chain.TSA)
	// Output:
	// needs renewal: true
	// 2031, first token alone: false
	// 2031, with the renewal: true 2026-04-01 TSA 1
}
