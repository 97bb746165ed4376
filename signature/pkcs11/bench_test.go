//go:build cgo

package pkcs11_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/softhsm"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/signature/pkcs11"
)

// BenchmarkSignContract50KB signs a 50 KB one-page contract (B-B) with a
// key in SoftHSM2 through one PKCS#11 session, beside the same signature
// with an in-memory key (the floor: signature.Sign's own cost), RSA-2048
// and ECDSA P-256, from as many goroutines as -cpu gives. It reports
// contracts signed per second.
//
//	go test ./signature/pkcs11 -run '^$' -bench SignContract50KB -cpu 2
func BenchmarkSignContract50KB(b *testing.B) {
	p := testpki.New(b)
	tok := softhsm.New(b, "keiyaku-bench")
	tok.AddKey(b, p, softhsm.RSA2048, "rsa-key", []byte{1})
	tok.AddKey(b, p, softhsm.P256, "ec-key", []byte{2})
	doc := pdftest.OnePage("% " + strings.Repeat("x", 50<<10) + "\nBT ET").Bytes()
	run := func(b *testing.B, signer crypto.Signer, cert *x509.Certificate) {
		opts := &signature.SignOptions{Signer: signer, Certificate: cert, Chain: []*x509.Certificate{p.Intermediate.Cert}, SigningTime: testpki.Now}
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var out bytes.Buffer
			for pb.Next() {
				out.Reset()
				if err := signature.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, opts); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "contracts/s")
	}
	for _, k := range []struct {
		name, label string
		mem         *testpki.Cert
	}{{"RSA2048", "rsa-key", p.RSA}, {"P256", "ec-key", p.ECDSAP256}} {
		b.Run("memory/"+k.name, func(b *testing.B) { run(b, k.mem.Key, k.mem.Cert) })
		b.Run("softhsm-1-session/"+k.name, func(b *testing.B) {
			key, err := pkcs11.Open(pkcs11.Config{Module: tok.Module, TokenLabel: tok.Label, PIN: softhsm.PIN, KeyLabel: k.label, Sessions: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer key.Close()
			run(b, key, key.Certificate)
		})
	}
}
