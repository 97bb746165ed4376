package archive_test

import (
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
)

// TestNew: New refuses each misconfiguration with kind Invalid and accepts
// the minimal configuration.
func TestNew(t *testing.T) {
	p := testpki.New(t)
	ts := tsaAt(t, p, p.TSA, testpki.Now)
	for _, c := range []struct {
		name string
		cfg  archive.Config
		ok   bool
	}{
		{"minimal", archive.Config{Timestamper: ts}, true},
		{"full", archive.Config{Timestamper: ts, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Certs: []*x509.Certificate{p.Intermediate.Cert},
			Revocation: signature.RevocationHardFail, TempDir: t.TempDir(), Clock: func() time.Time { return testpki.Now }}, true},
		{"no timestamper", archive.Config{TrustAnchors: []*x509.Certificate{p.Root.Cert}}, false},
		{"nil anchor", archive.Config{Timestamper: ts, TrustAnchors: []*x509.Certificate{nil}}, false},
		{"nil cert", archive.Config{Timestamper: ts, Certs: []*x509.Certificate{p.Root.Cert, nil}}, false},
		{"unknown revocation policy", archive.Config{Timestamper: ts, Revocation: "sometimes"}, false},
		{"missing temp dir", archive.Config{Timestamper: ts, TempDir: filepath.Join(t.TempDir(), "nope")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := archive.New(c.cfg)
			if c.ok && (err != nil || s == nil) {
				t.Fatalf("want a service, got %v", err)
			}
			if !c.ok && (!errors.Is(err, kerr.Invalid) || s != nil) {
				t.Fatalf("want kind Invalid, got %v", err)
			}
		})
	}
}

// TestNeedsPDFRenewalWithoutSeal: a report without a validated document
// timestamp always asks for attention.
func TestNeedsPDFRenewalWithoutSeal(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	signed := signedContract(t, p, signature.LevelBT)
	sealed := seal(t, s, signed)
	for _, c := range []struct {
		name    string
		rep     *signature.Report
		horizon time.Duration
		want    bool
	}{
		{"nil report", nil, 0, true},
		{"not sealed", verifyPDF(t, s, signed, testpki.Now).Report, 0, true},
		{"sealed, short horizon", verifyPDF(t, s, sealed, testpki.Now).Report, 24 * time.Hour, false},
		{"sealed, horizon past TSA expiry", verifyPDF(t, s, sealed, testpki.Now).Report, testpki.TSANotAfter.Sub(testpki.Now), true},
		{"sealed, horizon just short of TSA expiry", verifyPDF(t, s, sealed, testpki.Now).Report, testpki.TSANotAfter.Sub(testpki.Now) - time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := s.NeedsPDFRenewal(c.rep, c.horizon); got != c.want {
				t.Fatalf("NeedsPDFRenewal = %v, want %v", got, c.want)
			}
		})
	}
}
