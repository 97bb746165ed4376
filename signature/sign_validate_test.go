package signature_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestSignedFilesValidate runs what Sign, AddValidationData and
// AddDocumentTimestamp make through Validate, at every level.
func TestSignedFilesValidate(t *testing.T) {
	p := testpki.New(t)
	now := func() testTime { return testpki.Now }
	bb := sign(t, onePage(), baseOpts(p, p.RSA))
	bt := signBT(t, p)
	lt := extend(t, signature.AddValidationData, bt, &signature.ExtendOptions{Online: true, Clock: now})
	lta := extend(t, signature.AddDocumentTimestamp, lt, &signature.ExtendOptions{Timestamper: newTSA(t, p)})
	two := sign(t, bb, baseOpts(p, p.ECDSAP384))
	certified := sign(t, onePage(), func() *signature.SignOptions {
		o := baseOpts(p, p.ECDSAP256)
		o.Certification, o.DocMDP = true, 2
		return o
	}())
	certifiedThenSigned := sign(t, certified, baseOpts(p, p.RSA))
	tests := []struct {
		name      string
		doc       []byte
		wantLevel signature.Level
		wantSigs  int
	}{
		{"B-B", bb, signature.LevelBB, 1},
		{"B-T", bt, signature.LevelBT, 1},
		{"B-LT", lt, signature.LevelBLT, 1},
		{"B-LTA", lta, signature.LevelBLTA, 2},
		{"two signatures", two, signature.LevelBB, 2},
		{"certified then approval", certifiedThenSigned, signature.LevelBB, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := signature.Validate(context.Background(), bytes.NewReader(tt.doc), int64(len(tt.doc)), &signature.ValidateOptions{
				At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationSoftFail,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Passed || rep.Level != tt.wantLevel || len(rep.Signatures) != tt.wantSigs {
				for _, s := range rep.Signatures {
					t.Logf("%s %s %s/%s level=%s coverage=%s mod=%s reasons=%v", s.Field, s.Kind, s.Indication, s.SubIndication, s.Level, s.Coverage, s.Modification, s.Reasons)
				}
				t.Fatalf("passed=%v level=%s sigs=%d error=%q; want passed, %s, %d", rep.Passed, rep.Level, len(rep.Signatures), rep.Error, tt.wantLevel, tt.wantSigs)
			}
			for _, s := range rep.Signatures {
				if s.Modification == signature.ModificationDisallowed || !s.CryptoIntact {
					t.Fatalf("%s: modification %s, intact %v", s.Field, s.Modification, s.CryptoIntact)
				}
			}
		})
	}
}
