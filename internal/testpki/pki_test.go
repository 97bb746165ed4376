package testpki

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"golang.org/x/crypto/ocsp"
	"golang.org/x/crypto/pkcs12"
)

func TestChainsVerify(t *testing.T) {
	p := New(t)
	inters := x509.NewCertPool()
	inters.AddCert(p.Intermediate.Cert)
	tests := []struct {
		name    string
		c       *Cert
		at      time.Time
		wantErr bool
	}{
		{"rsa", p.RSA, Now, false},
		{"p256", p.ECDSAP256, Now, false},
		{"p384", p.ECDSAP384, Now, false},
		{"ed25519", p.Ed25519, Now, false},
		{"weak rsa still chains", p.WeakRSA, Now, false},
		{"revoked chains (revocation is separate)", p.Revoked, Now, false},
		{"tsa", p.TSA, Now, false},
		{"tsa2", p.TSA2, Now, false},
		{"expired at Now", p.Expired, Now, true},
		{"expired valid in 2024", p.Expired, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), false},
		{"tsa expired in 2031", p.TSA, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"tsa2 valid in 2031", p.TSA2, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Cert.Verify(x509.VerifyOptions{Roots: p.Roots(), Intermediates: inters, CurrentTime: tt.at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Verify at %v: err=%v, wantErr=%v", tt.at, err, tt.wantErr)
			}
			var inv x509.CertificateInvalidError
			if tt.wantErr && (!errors.As(err, &inv) || inv.Reason != x509.Expired) {
				t.Fatalf("want Expired error, got %v", err)
			}
		})
	}
}

func TestCertificateProfiles(t *testing.T) {
	p := New(t)
	for _, c := range []*Cert{p.TSA, p.TSA2} {
		var critical bool
		for _, e := range c.Cert.Extensions {
			if e.Id.Equal(oidExtKeyUsage) {
				critical = e.Critical
			}
		}
		if !critical || len(c.Cert.ExtKeyUsage) != 1 || c.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping {
			t.Errorf("%s: EKU critical=%v %v, want critical timeStamping only", c.Name, critical, c.Cert.ExtKeyUsage)
		}
	}
	if p.TSA.Cert.NotAfter.Equal(p.TSA2.Cert.NotAfter) {
		t.Error("TSA and TSA2 must expire at different times")
	}
	if p.NoSigningUsage.Cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) != 0 {
		t.Error("NoSigningUsage has a signing key usage")
	}
	if got := p.WeakRSA.Cert.PublicKey; got == nil || p.WeakRSA.Cert.PublicKeyAlgorithm != x509.RSA {
		t.Fatal("WeakRSA is not RSA")
	}
	for _, c := range p.Signers() {
		if c.Cert.OCSPServer[0] != p.OCSPURL || c.Cert.CRLDistributionPoints[0] != p.CRLURL {
			t.Errorf("%s: AIA/CRL DP = %v %v", c.Name, c.Cert.OCSPServer, c.Cert.CRLDistributionPoints)
		}
		if len(c.Cert.PolicyIdentifiers) != 1 || !c.Cert.PolicyIdentifiers[0].Equal(PolicyOID) {
			t.Errorf("%s: policies %v", c.Name, c.Cert.PolicyIdentifiers)
		}
		if len(c.Cert.Subject.Organization) != 1 || len(c.Cert.DNSNames) != 1 || len(c.Cert.EmailAddresses) != 1 {
			t.Errorf("%s: subject/SAN incomplete: %v %v", c.Name, c.Cert.Subject, c.Cert.DNSNames)
		}
	}
	if p.RSA.Cert.Subject.Organization[0] != "株式会社テスト" {
		t.Errorf("O = %q", p.RSA.Cert.Subject.Organization[0])
	}
	var hasNoCheck bool
	for _, e := range p.OCSPSigner.Cert.Extensions {
		hasNoCheck = hasNoCheck || e.Id.Equal(asn1.ObjectIdentifier(oidOCSPNoCheck))
	}
	if !hasNoCheck || p.OCSPSigner.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
		t.Error("OCSP signer lacks nocheck or OCSPSigning")
	}
}

func postOCSP(t *testing.T, url string, c, issuer *Cert) *ocsp.Response {
	t.Helper()
	req, err := ocsp.CreateRequest(c.Cert, issuer.Cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ocsp.ParseResponseForCert(body, c.Cert, issuer.Cert)
	if err != nil {
		t.Fatalf("parse response: %v", err)
	}
	return r
}

func TestOCSPResponder(t *testing.T) {
	p := New(t)
	tests := []struct {
		name          string
		c, issuer     *Cert
		want          int
		wantResponder *x509.Certificate
	}{
		{"good leaf", p.RSA, p.Intermediate, ocsp.Good, p.OCSPSigner.Cert},
		{"revoked leaf", p.Revoked, p.Intermediate, ocsp.Revoked, p.OCSPSigner.Cert},
		{"unknown leaf", p.Unknown, p.Intermediate, ocsp.Unknown, p.OCSPSigner.Cert},
		{"intermediate by root", p.Intermediate, p.Root, ocsp.Good, nil},
		{"tsa", p.TSA, p.Intermediate, ocsp.Good, p.OCSPSigner.Cert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postOCSP(t, p.OCSPURL, tt.c, tt.issuer)
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d", r.Status, tt.want)
			}
			if !r.ProducedAt.Equal(Now) || !r.NextUpdate.Equal(Now.Add(OCSPValidity)) {
				t.Errorf("times %v %v", r.ProducedAt, r.NextUpdate)
			}
			if tt.wantResponder == nil && r.Certificate != nil || tt.wantResponder != nil && (r.Certificate == nil || !r.Certificate.Equal(tt.wantResponder)) {
				t.Errorf("responder cert mismatch")
			}
			if tt.want == ocsp.Revoked && (!r.RevokedAt.Equal(RevokedAt) || r.RevocationReason != ocsp.KeyCompromise) {
				t.Errorf("revoked at %v reason %d", r.RevokedAt, r.RevocationReason)
			}
		})
	}
	t.Run("get", func(t *testing.T) {
		req, _ := ocsp.CreateRequest(p.ECDSAP256.Cert, p.Intermediate.Cert, nil)
		resp, err := http.Get(p.OCSPURL + "/" + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(b64(req)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		r, err := ocsp.ParseResponseForCert(body, p.ECDSAP256.Cert, p.Intermediate.Cert)
		if err != nil || r.Status != ocsp.Good {
			t.Fatalf("GET: %v %+v", err, r)
		}
	})
	t.Run("revoked before revocation time is good", func(t *testing.T) {
		p.SetNow(RevokedAt.Add(-time.Hour))
		defer p.SetNow(Now)
		if r := postOCSP(t, p.OCSPURL, p.Revoked, p.Intermediate); r.Status != ocsp.Good {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("foreign issuer unauthorized", func(t *testing.T) {
		req, _ := ocsp.CreateRequest(p.RSA.Cert, p.RSA.Cert, nil)
		resp, err := http.Post(p.OCSPURL, "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		_, err = ocsp.ParseResponse(body, nil)
		var re ocsp.ResponseError
		if !errors.As(err, &re) || re.Status != ocsp.Unauthorized {
			t.Fatalf("err %v", err)
		}
	})
	if p.Requests("/ocsp") < 6 {
		t.Errorf("request counter %d", p.Requests("/ocsp"))
	}
}

func TestCRLEndpoints(t *testing.T) {
	p := New(t)
	tests := []struct {
		name        string
		url         string
		issuer      *Cert
		wantRevoked int
	}{
		{"intermediate", p.CRLURL, p.Intermediate, 1},
		{"root", p.RootCRLURL, p.Root, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			der, _ := io.ReadAll(resp.Body)
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := crl.CheckSignatureFrom(tt.issuer.Cert); err != nil {
				t.Fatal(err)
			}
			if len(crl.RevokedCertificateEntries) != tt.wantRevoked || !crl.ThisUpdate.Equal(Now) {
				t.Fatalf("entries %d thisUpdate %v", len(crl.RevokedCertificateEntries), crl.ThisUpdate)
			}
			if tt.wantRevoked == 1 && crl.RevokedCertificateEntries[0].SerialNumber.Cmp(p.Revoked.Cert.SerialNumber) != 0 {
				t.Fatal("wrong serial revoked")
			}
		})
	}
}

func TestPEMAndPKCS12(t *testing.T) {
	p := New(t)
	dir := t.TempDir()
	f := p.WritePEM(t, dir, p.ECDSAP256)
	b, err := os.ReadFile(f.Chain)
	if err != nil || strings.Count(string(b), "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("chain file: %v", err)
	}
	path := p.WritePKCS12(t, dir, p.RSA, "secret")
	der, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := pkcs12.ToPEM(der, "secret")
	if err != nil {
		t.Fatalf("x/crypto/pkcs12 cannot read it: %v", err)
	}
	var certs, keys int
	for _, b := range blocks {
		switch b.Type {
		case "CERTIFICATE":
			certs++
		case "PRIVATE KEY":
			keys++
		}
	}
	if certs != 3 || keys != 1 {
		t.Fatalf("p12 has %d certs %d keys", certs, keys)
	}
	if _, err := pkcs12.ToPEM(der, "wrong"); !errors.Is(err, pkcs12.ErrIncorrectPassword) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestNSSDB(t *testing.T) {
	p := New(t)
	dir := t.TempDir()
	db := p.NSSDB(t, dir, p.RSA, p.ECDSAP256)
	out, err := exec.Command("certutil", "-L", "-d", db).CombinedOutput()
	if err != nil {
		t.Fatalf("certutil -L: %v\n%s", err, out)
	}
	for _, nick := range []string{"keiyaku-test-root", "rsa", "p256"} {
		if !strings.Contains(string(out), nick) {
			t.Errorf("nickname %q missing:\n%s", nick, out)
		}
	}
	keys, err := exec.Command("certutil", "-K", "-d", db).CombinedOutput()
	if err != nil || strings.Count(string(keys), "<") < 2 {
		t.Fatalf("keys: %v\n%s", err, keys)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestNSSDBSignsWithPdfsig proves the database works for poppler both
// ways: pdfsig signs with a nickname and then trusts what it signed. It
// uses the RSA signer: pdfsig 22.12 -add-signature fails intermittently
// ("unable update signature") with ECDSA keys, whose signatures vary in
// length.
func TestNSSDBSignsWithPdfsig(t *testing.T) {
	p := New(t)
	bin := RequireTool(t, "pdfsig")
	dir := t.TempDir()
	db := p.NSSDB(t, dir, p.RSA)
	in, out := dir+"/in.pdf", dir+"/out.pdf"
	if err := os.WriteFile(in, pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "-nssdir", db, "-add-signature", "-nick", p.RSA.Name, "-reason", "test", in, out).CombinedOutput(); err != nil {
		t.Fatalf("pdfsig -add-signature: %v\n%s", err, b)
	}
	b, err := exec.Command(bin, "-nssdir", db, "-no-ocsp", out).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "Signature is Valid.") || !strings.Contains(string(b), "Certificate is Trusted.") {
		t.Fatalf("pdfsig: %v\n%s", err, b)
	}
}
