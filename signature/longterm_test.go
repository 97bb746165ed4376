package signature_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// tsaAt is a local TSA on cert c whose clock is fixed at t.
func tsaAt(t *testing.T, c *testpki.Cert, chain []*x509.Certificate, at time.Time) signature.Timestamper {
	t.Helper()
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: c.Key, Certificate: c.Cert, Chain: chain,
		Policy: testpki.PolicyOID, Clock: func() time.Time { return at },
		Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return signature.AuthorityTimestamper(a)
}

func extendWith(t *testing.T, fn func(context.Context, io.ReaderAt, int64, io.Writer, *signature.ExtendOptions) error, in []byte, opts *signature.ExtendOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := fn(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts); err != nil {
		t.Fatalf("extend: %v", err)
	}
	return out.Bytes()
}

// TestLevelsLadder: after each step our validator reports exactly the
// level asked for: B-B, B-T, B-LT, B-LTA.
func TestLevelsLadder(t *testing.T) {
	p := testpki.New(t)
	at := testpki.Now
	chain := []*x509.Certificate{p.Intermediate.Cert}
	opts := &signature.ValidateOptions{At: at, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationHardFail, Online: true}
	in := pdftest.OnePage(contractContent).Bytes()
	sign := func(level signature.Level, ts signature.Timestamper) []byte {
		var out bytes.Buffer
		err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
			Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: chain, Field: "Registrant",
			Level: level, Timestamper: ts, SigningTime: at,
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	bb := sign(signature.LevelBB, nil)
	bt := sign(signature.LevelBT, tsaAt(t, p.TSA, chain, at))
	lt := extendWith(t, signature.AddValidationData, bt, &signature.ExtendOptions{Online: true, Clock: func() time.Time { return at }})
	lta := extendWith(t, signature.AddDocumentTimestamp, lt, &signature.ExtendOptions{Timestamper: tsaAt(t, p.TSA, chain, at)})
	for _, c := range []struct {
		name string
		doc  []byte
		want signature.Level
	}{{"B-B", bb, signature.LevelBB}, {"B-T", bt, signature.LevelBT}, {"B-LT", lt, signature.LevelBLT}, {"B-LTA", lta, signature.LevelBLTA}} {
		t.Run(c.name, func(t *testing.T) {
			rep := validateBytes(t, c.doc, opts)
			if !rep.Passed || rep.Level != c.want || rep.Signatures[0].Level != c.want {
				t.Fatalf("want passed at %s:\n%s", c.want, dumpReport(rep))
			}
			if c.want != signature.LevelBB && rep.Signatures[0].Timestamp == nil {
				t.Fatalf("a timestamped signature must report its proof of existence:\n%s", dumpReport(rep))
			}
		})
	}
}

// TestRenewalAcrossTime is the long-term promise: sign and seal to B-LTA at
// T0 with a TSA whose certificate expires at T1; renew at T1 - 1 day with a
// second TSA; validate at T2 > T1, when the first TSA's and the signer's
// certificates have both expired. The later document timestamp proves the
// earlier evidence existed while it was valid, so the signature passes.
// Without the renewal the same validation must not pass.
func TestRenewalAcrossTime(t *testing.T) {
	p := testpki.New(t)
	chain := []*x509.Certificate{p.Intermediate.Cert}
	t0 := testpki.Now                  // 2026-01-01: everything valid
	t1 := testpki.TSANotAfter          // 2030-01-01: the first TSA expires
	renewAt := t1.Add(-24 * time.Hour) // the archive renews the day before
	t2 := t1.Add(365 * 24 * time.Hour) // 2031: signer (2028) and TSA (2030) expired
	if !t2.After(testpki.LeafNotAfter) || !t2.Before(testpki.TSA2NotAfter) {
		t.Fatal("the test PKI's validity periods do not fit this scenario")
	}

	in := pdftest.OnePage(contractContent).Bytes()
	var signed bytes.Buffer
	err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &signed, &signature.SignOptions{
		Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: chain, Field: "Registrant",
		Level: signature.LevelBT, Timestamper: tsaAt(t, p.TSA, chain, t0), SigningTime: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.SetNow(t0)
	lt := extendWith(t, signature.AddValidationData, signed.Bytes(), &signature.ExtendOptions{Online: true, Clock: func() time.Time { return t0 }})
	sealed := extendWith(t, signature.AddDocumentTimestamp, lt, &signature.ExtendOptions{Timestamper: tsaAt(t, p.TSA, chain, t0)})

	// Renewal at T1 - 1 day: validation data for the first document
	// timestamp (its TSA is still valid), then a new document timestamp by
	// the second TSA.
	p.SetNow(renewAt)
	renewedLT := extendWith(t, signature.AddValidationData, sealed, &signature.ExtendOptions{Online: true, Clock: func() time.Time { return renewAt }})
	renewed := extendWith(t, signature.AddDocumentTimestamp, renewedLT, &signature.ExtendOptions{Timestamper: tsaAt(t, p.TSA2, chain, renewAt)})

	opts := &signature.ValidateOptions{At: t2, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationSoftFail}

	rep := validateBytes(t, renewed, opts)
	if !rep.Passed || rep.Level != signature.LevelBLTA {
		t.Fatalf("renewed archive at T2: want passed at B-LTA:\n%s", dumpReport(rep))
	}
	if n := len(rep.Signatures); n != 3 {
		t.Fatalf("want the signature and two document timestamps, got %d", n)
	}
	sig := rep.Signatures[0]
	if sig.Timestamp == nil || !sig.Timestamp.Time.Equal(t0) {
		t.Fatalf("the signature's proof of existence must be its T0 timestamp:\n%s", dumpReport(rep))
	}

	rep = validateBytes(t, sealed, opts)
	if rep.Passed {
		t.Fatalf("without renewal the archive must not pass at T2:\n%s", dumpReport(rep))
	}
	if s := rep.Signatures[0]; s.Indication != signature.Indeterminate || s.SubIndication != signature.OutOfBoundsNoPOE {
		t.Fatalf("without renewal: want INDETERMINATE/OUT_OF_BOUNDS_NO_POE for the signature:\n%s", dumpReport(rep))
	}

	// And before T1 the unrenewed archive is fine.
	opts.At = renewAt
	if rep := validateBytes(t, sealed, opts); !rep.Passed {
		t.Fatalf("the sealed archive must pass before its TSA expires:\n%s", dumpReport(rep))
	}
}
