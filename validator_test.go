package keiyaku_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestValidator checks the default casework.Validator against real signed
// PDFs from the test PKI.
func TestValidator(t *testing.T) {
	w := &world{t: t, ctx: context.Background(), pki: testpki.New(t)}
	a := &member{Key: "A", Name: "A", Cert: w.pki.ECDSAP256}
	b := &member{Key: "B", Name: "B", Cert: w.pki.RSA}
	unsigned := contract("Contract")
	signed := w.sign(a, unsigned)
	countersigned := w.sign(b, signed)
	altered := w.sign(b, tamper(t, signed, "Other contract"))
	broken := bytes.Replace(bytes.Clone(signed), []byte("Contract"), []byte("Kontract"), 1)
	val := keiyaku.NewValidator(&signature.ValidateOptions{
		TrustAnchors: []*x509.Certificate{w.pki.Root.Cert}, Revocation: signature.RevocationOff,
	})
	for _, tc := range []struct {
		name       string
		file       []byte
		at         time.Time
		prior      int64
		passed     bool
		signatures int
		onlyAdded  bool
		added      int
		reasons    bool
	}{
		{name: "not a PDF", file: []byte("hello"), at: today(), reasons: true},
		{name: "empty", file: nil, at: today(), reasons: true},
		{name: "unsigned", file: unsigned, at: today(), passed: true},
		{name: "signed", file: signed, at: today(), passed: true, signatures: 1},
		{name: "signed, validated after the certificate expired", file: signed, at: testpki.LeafNotAfter.AddDate(1, 0, 0), signatures: 1, reasons: true},
		{name: "signed bytes altered", file: broken, at: today(), signatures: 1, reasons: true},
		{name: "countersigned update", file: countersigned, at: today(), prior: int64(len(signed)), passed: true, signatures: 2, onlyAdded: true, added: 1},
		{name: "update without signature", file: signed, at: today(), prior: int64(len(unsigned)), passed: true, signatures: 1, onlyAdded: true, added: 1},
		{name: "update that changes the page", file: altered, at: today(), prior: int64(len(signed)), signatures: 2, added: 1, reasons: true},
		{name: "prior size not at a revision boundary", file: countersigned, at: today(), prior: int64(len(signed)) - 3, passed: true, signatures: 2, reasons: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := val.Validate(context.Background(), bytes.NewReader(tc.file), int64(len(tc.file)), &casework.ValidateOptions{At: tc.at, PriorSize: tc.prior})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if v.Passed != tc.passed || v.Signatures != tc.signatures || v.OnlyAllowedChanges != tc.onlyAdded || v.AddedSignatures != tc.added {
				t.Errorf("verdict = %+v; want passed %v, %d signatures, only allowed changes %v, %d added",
					v, tc.passed, tc.signatures, tc.onlyAdded, tc.added)
			}
			if (len(v.Reasons) > 0) != tc.reasons {
				t.Errorf("reasons = %q; want some: %v", v.Reasons, tc.reasons)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		v, err := val.Validate(ctx, bytes.NewReader(signed), int64(len(signed)), nil)
		if err == nil && v.Passed {
			t.Errorf("Validate with a cancelled context passed the file")
		}
	})
}

// FuzzValidator: whatever the bytes, the default validator returns a
// verdict or an error, never panics, and never passes a file it says it
// could not read.
func FuzzValidator(f *testing.F) {
	pki := testpki.New(f)
	signed := signWith(f, pki, contract("Contract"))
	f.Add(signed, int64(0))
	f.Add(signed, int64(len(signed)/2))
	f.Add(contract("x"), int64(10))
	f.Add([]byte("%PDF-1.7\n%%EOF"), int64(-1))
	f.Add([]byte{}, int64(0))
	val := keiyaku.NewValidator(&signature.ValidateOptions{TrustAnchors: []*x509.Certificate{pki.Root.Cert}, Revocation: signature.RevocationOff})
	f.Fuzz(func(t *testing.T, file []byte, prior int64) {
		if len(file) > 1<<20 {
			return
		}
		v, err := val.Validate(context.Background(), bytes.NewReader(file), int64(len(file)), &casework.ValidateOptions{At: today(), PriorSize: prior})
		if err != nil {
			return
		}
		if v == nil {
			t.Fatal("nil verdict without an error")
		}
		if !v.Passed && len(v.Reasons) == 0 {
			t.Error("a failed verdict without a reason")
		}
		if prior <= 0 && (v.OnlyAllowedChanges || v.AddedSignatures != 0) {
			t.Errorf("no prior size, yet %+v", v)
		}
	})
}

func signWith(tb testing.TB, pki *testpki.PKI, in []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: pki.ECDSAP256.Key, Certificate: pki.ECDSAP256.Cert, Chain: []*x509.Certificate{pki.Intermediate.Cert},
		SigningTime: testpki.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
