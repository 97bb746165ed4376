package ers_test

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
)

// FuzzParse: any input parses or is refused with ErrMalformed, never
// panics; what parses writes back to bytes that parse to the same, and
// Verify runs on it without error beyond kerr.Invalid.
func FuzzParse(f *testing.F) {
	p := testpki.New(f)
	objs := objects(3)
	recs := seal(f, p, p.TSA, testpki.Now, crypto.SHA256, objs)
	renewTimestamps(f, p, p.TSA2, testpki.Now.AddDate(1, 0, 0), recs[:1])
	renewHashTrees(f, p, p.TSA2, testpki.Now.AddDate(1, 0, 0), crypto.SHA512, recs[1:2], objs[1:2])
	for _, r := range recs {
		der, err := r.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	roots := p.Roots()
	f.Fuzz(func(t *testing.T, der []byte) {
		rec, err := ers.Parse(der)
		if err != nil {
			if !errors.Is(err, ers.ErrMalformed) || !errors.Is(err, kerr.Invalid) {
				t.Fatalf("error without ErrMalformed/kerr.Invalid: %v", err)
			}
			return
		}
		out, err := rec.Marshal()
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("Marshal: %v", err)
			}
			return
		}
		back, err := ers.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(rec)): %v", err)
		}
		again, _ := back.Marshal()
		if !bytes.Equal(again, out) {
			t.Fatal("Marshal is not stable")
		}
		d, err := ers.HashData(context.Background(), bytes.NewReader(objs[0]), rec.DigestAlgorithms)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rec.Chains {
			for _, a := range c {
				if a.Hash != 0 && d[a.Hash] == nil {
					d[a.Hash] = make([]byte, a.Hash.Size())
				}
			}
		}
		d[crypto.SHA256] = make([]byte, 32)
		d[crypto.SHA512] = make([]byte, 64)
		if _, err := ers.Verify(context.Background(), rec, d, &ers.VerifyOptions{At: testpki.Now, Roots: roots}); err != nil && !errors.Is(err, kerr.Invalid) {
			t.Fatalf("Verify: %v", err)
		}
	})
}
