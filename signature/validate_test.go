package signature_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

func signWith(t *testing.T, p *testpki.PKI, c *testpki.Cert, mutate func(*signature.SignOptions)) []byte {
	t.Helper()
	in := pdftest.OnePage(contractContent).Bytes()
	opts := &signature.SignOptions{
		Signer: c.Key, Certificate: c.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Field: "Registrant", SigningTime: testpki.Now,
	}
	if mutate != nil {
		mutate(opts)
	}
	var out bytes.Buffer
	if err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out.Bytes()
}

// TestValidateKeyTypes: every supported signature algorithm passes.
func TestValidateKeyTypes(t *testing.T) {
	p := testpki.New(t)
	cases := []struct {
		name   string
		cert   *testpki.Cert
		mutate func(*signature.SignOptions)
	}{
		{"RSA PKCS#1 v1.5", p.RSA, nil},
		{"RSA-PSS", p.RSA, func(o *signature.SignOptions) { o.PSS = true }},
		{"ECDSA P-256", p.ECDSAP256, nil},
		{"ECDSA P-384", p.ECDSAP384, nil},
		{"Ed25519", p.Ed25519, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := validateBytes(t, signWith(t, p, c.cert, c.mutate), attackOpts(p))
			if !rep.Passed || !rep.Signatures[0].CryptoIntact || rep.Level != signature.LevelBB {
				t.Fatalf("want passed at B-B:\n%s", dumpReport(rep))
			}
		})
	}
}

// TestValidatePolicyAndTime covers the verdicts that come from the signer's
// certificate, the default cryptographic policy and revocation.
func TestValidatePolicyAndTime(t *testing.T) {
	p := testpki.New(t)
	anchors := []*x509.Certificate{p.Root.Cert}
	online := func(policy signature.RevocationPolicy) *signature.ValidateOptions {
		return &signature.ValidateOptions{At: testpki.Now, TrustAnchors: anchors, Revocation: policy, Online: true}
	}
	beforeRevocation := testpki.RevokedAt.Add(-30 * 24 * time.Hour)
	cases := []struct {
		name    string
		doc     func() []byte
		opts    *signature.ValidateOptions
		ind     signature.Indication
		sub     signature.SubIndication
		rev     signature.RevocationStatus
		because string
	}{
		{"online OCSP good", func() []byte { return signWith(t, p, p.ECDSAP256, nil) }, online(signature.RevocationHardFail),
			signature.TotalPassed, "", signature.RevocationGood, ""},
		{"weak RSA key", func() []byte { return signWith(t, p, p.WeakRSA, nil) }, attackOpts(p),
			signature.Indeterminate, signature.CryptoConstraintsFailure, signature.RevocationNotChecked, "too weak"},
		{"weak RSA allowed by option", func() []byte { return signWith(t, p, p.WeakRSA, nil) },
			&signature.ValidateOptions{At: testpki.Now, TrustAnchors: anchors, Revocation: signature.RevocationOff, AllowWeakAlgorithms: true},
			signature.TotalPassed, "", signature.RevocationNotChecked, ""},
		{"no signing key usage", func() []byte { return signWith(t, p, p.NoSigningUsage, nil) }, attackOpts(p),
			signature.Indeterminate, signature.ChainConstraintsFailure, signature.RevocationNotChecked, "digitalSignature"},
		{"expired signer, no proof of time", func() []byte { return signWith(t, p, p.Expired, nil) }, attackOpts(p),
			signature.Indeterminate, signature.OutOfBoundsNoPOE, signature.RevocationNotChecked, "validity period"},
		{"revoked signer, online OCSP", func() []byte { return signWith(t, p, p.Revoked, nil) }, online(signature.RevocationSoftFail),
			signature.TotalFailed, signature.Revoked, signature.RevocationRevoked, "revoked"},
		{"revoked after a timestamped signature", func() []byte {
			return signWith(t, p, p.Revoked, func(o *signature.SignOptions) {
				o.Level, o.Timestamper, o.SigningTime = signature.LevelBT, tsaAt(t, p.TSA, []*x509.Certificate{p.Intermediate.Cert}, beforeRevocation), beforeRevocation
			})
		}, online(signature.RevocationSoftFail),
			signature.TotalPassed, "", signature.RevocationGood, "after the signature"},
		// OCSP answers "unknown"; the issuer's CRL then settles it.
		{"unknown to OCSP, settled by the CRL", func() []byte { return signWith(t, p, p.Unknown, nil) }, online(signature.RevocationHardFail),
			signature.TotalPassed, "", signature.RevocationGood, ""},
		{"nothing embedded, offline, hard-fail", func() []byte { return signWith(t, p, p.ECDSAP256, nil) },
			&signature.ValidateOptions{At: testpki.Now, TrustAnchors: anchors, Revocation: signature.RevocationHardFail},
			signature.Indeterminate, signature.TryLater, signature.RevocationUnknown, "online checks are off"},
		{"nothing embedded, offline, soft-fail", func() []byte { return signWith(t, p, p.ECDSAP256, nil) },
			&signature.ValidateOptions{At: testpki.Now, TrustAnchors: anchors},
			signature.TotalPassed, "", signature.RevocationUnknown, "no revocation information"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := validateBytes(t, c.doc(), c.opts)
			s := rep.Signatures[0]
			if s.Indication != c.ind || s.SubIndication != c.sub || s.Revocation != c.rev {
				t.Fatalf("got %s/%s revocation %s, want %s/%s revocation %s:\n%s", s.Indication, s.SubIndication, s.Revocation, c.ind, c.sub, c.rev, dumpReport(rep))
			}
			if c.because != "" && !strings.Contains(strings.Join(s.Reasons, "\n"), c.because) {
				t.Fatalf("no reason mentions %q:\n%s", c.because, dumpReport(rep))
			}
			if rep.Passed != (c.ind == signature.TotalPassed) {
				t.Fatalf("document verdict %v disagrees", rep.Passed)
			}
		})
	}
}

// TestEmbeddedRevocationOffline: a B-LT document carries its own OCSP
// responses, so a hard-fail validation without network access passes.
func TestEmbeddedRevocationOffline(t *testing.T) {
	p := testpki.New(t)
	chain := []*x509.Certificate{p.Intermediate.Cert}
	bt := signWith(t, p, p.ECDSAP256, func(o *signature.SignOptions) {
		o.Level, o.Timestamper = signature.LevelBT, tsaAt(t, p.TSA, chain, testpki.Now)
	})
	lt := extendWith(t, signature.AddValidationData, bt, &signature.ExtendOptions{Online: true, Clock: func() time.Time { return testpki.Now }})
	before := p.Requests("/ocsp")
	rep := validateBytes(t, lt, &signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationHardFail})
	if !rep.Passed || rep.Signatures[0].Revocation != signature.RevocationGood || rep.Level != signature.LevelBLT {
		t.Fatalf("want passed, revocation good, B-LT:\n%s", dumpReport(rep))
	}
	if p.Requests("/ocsp") != before {
		t.Fatal("offline validation asked the OCSP responder")
	}
}

// TestRevokedTSA: a timestamp by a TSA whose certificate was revoked before
// the token proves nothing. The signature timestamp gives no proof of
// existence, and the document timestamp fails with REVOKED.
func TestRevokedTSA(t *testing.T) {
	p := testpki.New(t)
	chain := []*x509.Certificate{p.Intermediate.Cert}
	p.Revoke(p.TSA, testpki.Now.Add(-24*time.Hour))
	bt := signWith(t, p, p.ECDSAP256, func(o *signature.SignOptions) {
		o.Level, o.Timestamper = signature.LevelBT, tsaAt(t, p.TSA, chain, testpki.Now)
	})
	lta := extendWith(t, signature.AddDocumentTimestamp, bt, &signature.ExtendOptions{Timestamper: tsaAt(t, p.TSA, chain, testpki.Now)})
	rep := validateBytes(t, lta, &signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Online: true})
	if rep.Passed {
		t.Fatalf("passed with a revoked TSA:\n%s", dumpReport(rep))
	}
	sig, ts := rep.Signatures[0], rep.Signatures[1]
	if sig.Timestamp != nil {
		t.Fatalf("the revoked TSA's token was taken as proof of existence:\n%s", dumpReport(rep))
	}
	if ts.Kind != signature.KindDocumentTimestamp || ts.Indication != signature.TotalFailed || ts.SubIndication != signature.Revoked {
		t.Fatalf("document timestamp by a revoked TSA: want TOTAL_FAILED/REVOKED:\n%s", dumpReport(rep))
	}

	// The same document with the TSA in good standing passes.
	q := testpki.New(t)
	good := extendWith(t, signature.AddDocumentTimestamp, signWith(t, q, q.ECDSAP256, func(o *signature.SignOptions) {
		o.Level, o.Timestamper = signature.LevelBT, tsaAt(t, q.TSA, []*x509.Certificate{q.Intermediate.Cert}, testpki.Now)
	}), &signature.ExtendOptions{Timestamper: tsaAt(t, q.TSA, []*x509.Certificate{q.Intermediate.Cert}, testpki.Now)})
	if rep := validateBytes(t, good, &signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{q.Root.Cert}, Online: true}); !rep.Passed {
		t.Fatalf("the control document does not pass:\n%s", dumpReport(rep))
	}
}
