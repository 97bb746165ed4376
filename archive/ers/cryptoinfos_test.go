package ers_test

import (
	"bytes"
	"crypto"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
)

// TestValidationDataRoundTrip: certificates, a CRL and an OCSP response
// added to a record's cryptoInfos come back (the OCSP response whole)
// after Marshal and Parse; adding them again adds nothing; the record
// still verifies (cryptoInfos is outside its hashes); a failed OCSP
// response is refused.
func TestValidationDataRoundTrip(t *testing.T) {
	p := testpki.New(t)
	objs := objects(1)
	rec := seal(t, p, p.TSA, testpki.Now, crypto.SHA256, objs)[0]
	ocsp, err := p.OCSPFor(p.TSA, p.Intermediate)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := p.CRL(p.Root, nil)
	if err != nil {
		t.Fatal(err)
	}
	vd := ers.ValidationData{Certificates: [][]byte{p.TSA.Cert.Raw, p.Intermediate.Cert.Raw}, CRLs: [][]byte{crl}, OCSPs: [][]byte{ocsp}}
	if err := rec.AddValidationData(vd); err != nil {
		t.Fatal(err)
	}
	once := bytes.Clone(rec.CryptoInfos)
	if err := rec.AddValidationData(vd); err != nil || !bytes.Equal(rec.CryptoInfos, once) {
		t.Fatalf("adding the same data again: %v, changed %v", err, !bytes.Equal(rec.CryptoInfos, once))
	}
	back := reparse(t, rec)
	got, err := back.ValidationData()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Certificates) != 2 || !bytes.Equal(got.Certificates[1], p.Intermediate.Cert.Raw) ||
		len(got.CRLs) != 1 || !bytes.Equal(got.CRLs[0], crl) || len(got.OCSPs) != 1 || !bytes.Equal(got.OCSPs[0], ocsp) {
		t.Fatalf("validation data after a round trip: %d certificates, %d CRLs, %d OCSP responses", len(got.Certificates), len(got.CRLs), len(got.OCSPs))
	}
	if r := verifyAt(t, p, back, objs[0], testpki.Now); !r.Valid {
		t.Fatalf("the record with cryptoInfos: %v", r.Reasons)
	}
	more, err := p.OCSPFor(p.RSA, p.Intermediate)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.AddValidationData(ers.ValidationData{OCSPs: [][]byte{more}}); err != nil {
		t.Fatal(err)
	}
	if got, err := reparse(t, back).ValidationData(); err != nil || len(got.OCSPs) != 2 || len(got.Certificates) != 2 {
		t.Fatalf("after adding a second response: %v, %d responses", err, len(got.OCSPs))
	}
	unauthorized := []byte{0x30, 0x03, 0x0a, 0x01, 0x06}
	if err := rec.AddValidationData(ers.ValidationData{OCSPs: [][]byte{unauthorized}}); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("an unsuccessful OCSP response: %v", err)
	}
}

// FuzzValidationData: any cryptoInfos parses or is refused with
// ErrMalformed, never panics; what parses can be added to again.
func FuzzValidationData(f *testing.F) {
	p := testpki.New(f)
	rec := seal(f, p, p.TSA, testpki.Now, crypto.SHA256, objects(1))[0]
	ocsp, err := p.OCSPFor(p.TSA, p.Intermediate)
	if err != nil {
		f.Fatal(err)
	}
	if err := rec.AddValidationData(ers.ValidationData{Certificates: [][]byte{p.TSA.Cert.Raw}, OCSPs: [][]byte{ocsp}}); err != nil {
		f.Fatal(err)
	}
	f.Add(rec.CryptoInfos)
	f.Add([]byte{0xa0, 0x00})
	f.Fuzz(func(t *testing.T, ci []byte) {
		r := &ers.EvidenceRecord{CryptoInfos: ci}
		vd, err := r.ValidationData()
		if err != nil {
			if !errors.Is(err, ers.ErrMalformed) {
				t.Fatalf("error without ErrMalformed: %v", err)
			}
			return
		}
		if err := r.AddValidationData(ers.ValidationData{Certificates: [][]byte{p.TSA.Cert.Raw}}); err != nil {
			t.Fatalf("adding to a cryptoInfos that parses: %v", err)
		}
		again, err := r.ValidationData()
		if err != nil || len(again.Certificates) < len(vd.Certificates) {
			t.Fatalf("after adding: %v", err)
		}
	})
}
