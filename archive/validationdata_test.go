package archive_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/archive/ers/erstest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestRenewalKeepsValidationData: a record sealed by TSA 1 and renewed by
// TSA 2 in 2029 keeps, in its cryptoInfos, TSA 1's certificate path and
// OCSP responses for it as of the renewal. In 2031, offline under the
// hard-fail policy with current data only for TSA 2, the record is
// original: TSA 1's status at renewal time comes from the record alone;
// the same record without its cryptoInfos is INDETERMINATE. Bouncy
// Castle still parses and verifies the record, openssl every timestamp.
func TestRenewalKeepsValidationData(t *testing.T) {
	p := testpki.New(t)
	ctx := context.Background()
	hard := func(c *archive.Config) { c.Revocation = signature.RevocationHardFail }
	obj := []byte("見積書: validation data kept with the record")
	d := sha256.Sum256(obj)
	recs, err := newService(t, p, p.TSA, testpki.Now, hard).SealDigests(ctx, [][]byte{d[:]})
	if err != nil {
		t.Fatal(err)
	}
	renewAt := time.Date(2029, 6, 1, 0, 0, 0, 0, time.UTC)
	p.SetNow(renewAt)
	renewed, err := newService(t, p, p.TSA2, renewAt, hard).RenewRecords(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ers.Parse(renewed[0])
	if err != nil {
		t.Fatal(err)
	}
	vd, err := rec.ValidationData()
	if err != nil {
		t.Fatal(err)
	}
	if len(vd.OCSPs) != 2 || len(vd.Certificates) == 0 {
		t.Fatalf("kept %d OCSP responses, %d certificates; want TSA 1's and the Intermediate's responses", len(vd.OCSPs), len(vd.Certificates))
	}

	// 2031: TSA 1 expired; the verifier is offline with today's data for
	// TSA 2's path only.
	later := time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC)
	p.SetNow(later)
	tsa2OCSP, err := p.OCSPFor(p.TSA2, p.Intermediate)
	if err != nil {
		t.Fatal(err)
	}
	intOCSP, err := p.OCSPFor(p.Intermediate, p.Root)
	if err != nil {
		t.Fatal(err)
	}
	verifier := newService(t, p, p.TSA2, later, func(c *archive.Config) {
		c.Online, c.Revocation, c.OCSPs = false, signature.RevocationHardFail, [][]byte{tsa2OCSP, intOCSP}
		c.Certs = []*x509.Certificate{p.Intermediate.Cert}
	})
	v := verifyFile(t, verifier, obj, renewed[0], nil)
	if !v.Original {
		t.Fatalf("2031, offline, hard-fail, with the kept data: %v", v.Reasons)
	}
	bare := *rec
	bare.CryptoInfos = nil
	bareDER, err := bare.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if v := verifyFile(t, verifier, obj, bareDER, nil); v.Original || v.Failed {
		t.Fatalf("2031 without the kept data: original %v failed %v; want INDETERMINATE", v.Original, v.Failed)
	}
	if got := erstest.BouncyCastle(t, later, []*ers.EvidenceRecord{rec}, [][]byte{obj}); got[0] != "OK" {
		t.Fatalf("Bouncy Castle on the record with cryptoInfos: %s", got[0])
	}
	erstest.OpenSSL(t, p.Root.Cert, rec)
}
