package timestamp_test

import (
	"context"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/timestamp"
)

// handToken builds a token by hand with the given GeneralName (DER) in the
// TSTInfo tsa field, signed by the test TSA.
func handToken(t *testing.T, p *testPKI, digest []byte, generalName []byte) []byte {
	t.Helper()
	type imprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	type tst struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint imprint
		SerialNumber   *big.Int
		GenTime        time.Time     `asn1:"generalized"`
		TSA            asn1.RawValue `asn1:"optional"` // [0] EXPLICIT GeneralName, built below
	}
	info := tst{
		Version: 1, Policy: testPolicy,
		MessageImprint: imprint{pkix.AlgorithmIdentifier{Algorithm: cms.OIDSHA256}, digest},
		SerialNumber:   big.NewInt(77), GenTime: testNow,
	}
	if generalName != nil {
		info.TSA = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: generalName}
	}
	content, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	der, err := cms.Sign(nil, p.tsaKey, p.tsa, &cms.SignOptions{ContentType: cms.OIDTSTInfo, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func directoryName(t *testing.T, n pkix.Name) []byte {
	t.Helper()
	der, err := asn1.Marshal(n.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: der})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyTSAName(t *testing.T) {
	p := newTestPKI(t)
	d := sha256Of(document)
	dns, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("tsa.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		gn   []byte
		want error
	}{
		{"absent", nil, nil},
		{"own-subject", directoryName(t, p.tsa.Subject), nil},
		{"other-subject", directoryName(t, pkix.Name{CommonName: "someone else"}), timestamp.ErrTSAName},
		{"dns-not-in-certificate", dns, timestamp.ErrTSAName},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := handToken(t, p, d, tc.gn)
			_, err := timestamp.Verify(tok, d, &timestamp.VerifyOptions{Roots: p.roots})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestAuthorityOutsideCertificateValidity: a TSA whose clock is past its
// certificate's validity issues nothing; over HTTP that is systemFailure.
func TestAuthorityOutsideCertificateValidity(t *testing.T) {
	p := newTestPKI(t)
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.tsaKey, Certificate: p.tsa, Policy: testPolicy,
		Clock:   func() time.Time { return p.tsa.NotAfter.Add(time.Hour) },
		Serials: timestamp.NewMemorySerialStore(0),
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := sha256Of(document)
	_, err = a.Timestamp(context.Background(), crypto.SHA256, d, nil)
	if err == nil || errors.Is(err, timestamp.ErrRejected) {
		t.Fatalf("Timestamp = %v, want a non-rejection error", err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL, timestamp.ContentTypeQuery, bytesReader(marshalRequest(t, cms.OIDSHA256, d, nil, false)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("HTTP %d, want 500", resp.StatusCode)
	}
	body := readAll(t, resp)
	_, err = timestamp.ParseResponse(body)
	var se *timestamp.StatusError
	if !errors.As(err, &se) || !se.HasFailure(timestamp.FailSystemFailure) {
		t.Fatalf("ParseResponse = %v, want systemFailure", err)
	}
}
