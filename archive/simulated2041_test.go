package archive_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/archive/ers/erstest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// issueTSA makes a TSA certificate (sole, critical id-kp-timeStamping,
// RFC 3161 §2.3) valid from nb to na, issued by issuer.
func issueTSA(t testing.TB, issuer *testpki.Cert, cn string, nb, na time.Time, serial int64) *testpki.Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{Organization: []string{"keiyaku test"}, CommonName: cn},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.Cert, key.Public(), issuer.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testpki.Cert{Name: cn, Key: key, Cert: c}
}

// era is the archive as run at one time with one TSA.
func era(t testing.TB, p *testpki.PKI, tsa *testpki.Cert, chain []*x509.Certificate, at time.Time) *archive.Service {
	t.Helper()
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: tsa.Key, Certificate: tsa.Cert, Chain: chain, Policy: testpki.PolicyOID,
		Clock: func() time.Time { return at }, Serials: timestamp.NewMemorySerialStore(at.Unix()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return newService(t, p, tsa, at, func(c *archive.Config) {
		c.Timestamper = signature.AuthorityTimestamper(a)
		c.Stamper = archive.AuthorityStamper(a)
		c.Online = false // the TSA chains need no revocation data here
		c.Revocation = signature.RevocationOff
	})
}

// TestSimulated2041Records: files sealed in 2026 by TSA 1 (valid to 2031)
// stay original in 2041 through their evidence records, renewed by TSA 2
// in 2030, re-hashed to SHA-512 in 2033 and renewed by TSA 3 in 2035; a
// record left alone proves nothing after 2031 (INDETERMINATE, not FAILED);
// a flipped byte fails that object only. Bouncy Castle and openssl check
// the 2041 records.
//
// This covers the evidence records alone (supplementary files, and the
// sealed PDF's record); the whole facade, with the PDF's own PAdES renewal
// in the scheduled pass, the signers' expiry (2028) and their CA's
// revocation (2029), is keiyaku's TestSimulated2041.
func TestSimulated2041Records(t *testing.T) {
	p := testpki.New(t)
	y := func(year int, month time.Month) time.Time { return time.Date(year, month, 1, 0, 0, 0, 0, time.UTC) }
	inter := []*x509.Certificate{p.Intermediate.Cert}
	tsa1 := issueTSA(t, p.Intermediate, "TSA 1 (to 2031)", y(2025, 1), y(2031, 1), 901)
	tsa2 := issueTSA(t, p.Intermediate, "TSA 2 (to 2036)", y(2029, 6), y(2036, 6), 902)
	// The intermediate expires in 2040: TSA 3 chains to the root directly.
	tsa3 := issueTSA(t, p.Root, "TSA 3 (to 2045)", y(2034, 6), y(2044, 12), 903)

	// 2026: a sealed contract and three supplementary files, one batch.
	sealed := signedContract(t, p, signature.LevelBT)
	var pdfOut bytes.Buffer
	s2026 := era(t, p, tsa1, inter, testpki.Now)
	if err := newService(t, p, p.TSA, testpki.Now, nil).SealPDF(context.Background(), bytes.NewReader(sealed), int64(len(sealed)), &pdfOut); err != nil {
		t.Fatal(err)
	}
	objects := [][]byte{pdfOut.Bytes(), []byte("見積書 2026-001"), []byte("仕様書 v3"), bytes.Repeat([]byte("図面 "), 10000)}
	names := []string{"contract.sealed.pdf", "estimate.txt", "spec.txt", "drawing.bin"}
	var digests [][]byte
	for _, o := range objects {
		d := sha256.Sum256(o)
		digests = append(digests, d[:])
	}
	records, err := s2026.SealDigests(context.Background(), digests)
	if err != nil {
		t.Fatal(err)
	}
	alone := append([][]byte(nil), records...) // the renewal job off

	// 2030: timestamp renewal with TSA 2, all records under one timestamp.
	if records, err = era(t, p, tsa2, inter, y(2030, 3)).RenewRecords(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	// 2033: SHA-256 declared weak: hash-tree renewal to SHA-512.
	s2033 := era(t, p, tsa2, inter, y(2033, 3))
	for i := range records {
		if !s2033.NeedsRecordRenewal(records[i], 0, []crypto.Hash{crypto.SHA256}) {
			t.Fatal("a SHA-256 record is not due when SHA-256 is declared weak")
		}
		if records[i], err = s2033.RenewRecordHashTree(context.Background(), crypto.SHA512, bytes.NewReader(objects[i]), records[i]); err != nil {
			t.Fatal(err)
		}
	}
	// 2035: TSA 2 expires within the year: timestamp renewal with TSA 3.
	s2035 := era(t, p, tsa3, nil, y(2035, 9))
	for _, r := range records {
		if !s2035.NeedsRecordRenewal(r, 365*24*time.Hour, nil) {
			t.Fatal("a record whose TSA expires within a year is not due")
		}
	}
	if records, err = s2035.RenewRecords(context.Background(), records); err != nil {
		t.Fatal(err)
	}

	s2041 := era(t, p, tsa3, nil, y(2041, 6))
	var parsed []*ers.EvidenceRecord
	for i, r := range records {
		v := verifyFile(t, s2041, objects[i], r, nil)
		if !v.Original || !v.Time.Equal(testpki.Now) || len(v.Tokens) != 4 {
			t.Fatalf("2041, %s: original %v at %v with %d stamps: %v", names[i], v.Original, v.Time, len(v.Tokens), v.Reasons)
		}
		rec, err := ers.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Chains) != 2 || rec.Chains[1][0].Hash != crypto.SHA512 {
			t.Fatalf("%s: %d chains", names[i], len(rec.Chains))
		}
		parsed = append(parsed, rec)
	}
	for i, verdict := range erstest.BouncyCastle(t, y(2041, 6), parsed, objects) {
		if verdict != "OK" {
			t.Errorf("Bouncy Castle on %s: %s", names[i], verdict)
		}
	}
	for _, rec := range parsed {
		erstest.OpenSSL(t, p.Root.Cert, rec)
	}

	// The renewal job off: original until TSA 1 expires, INDETERMINATE
	// after.
	for i, r := range alone {
		if v := verifyFile(t, era(t, p, tsa1, inter, y(2030, 12)), objects[i], r, nil); !v.Original {
			t.Fatalf("2030, no renewal, %s: %v", names[i], v.Reasons)
		}
		v := verifyFile(t, era(t, p, tsa2, inter, y(2031, 6)), objects[i], r, nil)
		if v.Original || v.Failed {
			t.Fatalf("2031, no renewal, %s: original %v failed %v; want INDETERMINATE", names[i], v.Original, v.Failed)
		}
	}

	// One flipped byte in one object: FAILED for it, the others original.
	for k := range objects {
		t.Run(fmt.Sprintf("flip %s", names[k]), func(t *testing.T) {
			for i, r := range records {
				obj := objects[i]
				if i == k {
					obj = bytes.Clone(obj)
					obj[len(obj)/2] ^= 0x01
				}
				v := verifyFile(t, s2041, obj, r, nil)
				if i == k && (v.Original || !v.Failed) {
					t.Fatalf("%s flipped: original %v failed %v", names[i], v.Original, v.Failed)
				}
				if i != k && !v.Original {
					t.Fatalf("%s untouched: %v", names[i], v.Reasons)
				}
			}
		})
	}
}
