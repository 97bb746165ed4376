package signature_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/signature"
)

func ExampleSign() {
	ctx := context.Background()
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))

	// A self-signed signer certificate, for the example only.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{Organization: []string{"株式会社サンプル"}, CommonName: "Example Signer"},
		NotBefore:    at.AddDate(-1, 0, 0), NotAfter: at.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert, _ := x509.ParseCertificate(der)

	in := pdftest.OnePage("BT ET").Bytes() // any PDF
	var out bytes.Buffer
	err := signature.Sign(ctx, bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: key, Certificate: cert, Reason: "契約締結", SigningTime: at,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := signature.Validate(ctx, bytes.NewReader(out.Bytes()), int64(out.Len()), &signature.ValidateOptions{
		At: at, TrustAnchors: []*x509.Certificate{cert}, Revocation: signature.RevocationOff,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := rep.Signatures[0]
	fmt.Println(rep.Passed, s.Level, s.Field, s.Reason, s.Coverage)
	// Output: true B-B Signature1 契約締結 entire_file
}
