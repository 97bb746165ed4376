package archive_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
)

// FuzzVerifyRecordAttributes feeds arbitrary attributes (where
// ConvertTokenChain keeps the old renewal tokens) into the first archive
// timestamp of a real converted record: VerifyFile must never panic, fail
// only with kind Invalid, and call the file original only when the
// attributes still hold the old renewal token.
func FuzzVerifyRecordAttributes(f *testing.F) {
	p := testpki.New(f)
	t1 := testpki.TSANotAfter
	tok := stamp(f, newService(f, p, p.TSA, testpki.Now, nil), attachment)
	renewal, err := newService(f, p, p.TSA2, t1.AddDate(0, 0, -1), nil).RenewFileToken(context.Background(), bytes.NewReader(attachment), [][]byte{tok})
	if err != nil {
		f.Fatal(err)
	}
	conv := newService(f, p, p.TSA2, t1.AddDate(0, 6, 0), nil)
	der, err := conv.ConvertTokenChain(context.Background(), bytes.NewReader(attachment), [][]byte{tok, renewal})
	if err != nil {
		f.Fatal(err)
	}
	rec, err := ers.Parse(der)
	if err != nil {
		f.Fatal(err)
	}
	good := rec.Chains[0][0].Attributes
	verifier := newService(f, p, p.TSA2, t1.AddDate(1, 0, 0), nil)
	f.Add(good)
	f.Add([]byte{0xa1, 0x00})
	f.Add(good[:len(good)-3])
	f.Fuzz(func(t *testing.T, attrs []byte) {
		r, err := ers.Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		r.Chains[0][0].Attributes = attrs
		if len(attrs) == 0 {
			r.Chains[0][0].Attributes = nil
		}
		d, err := r.Marshal()
		if err != nil {
			return
		}
		v, err := verifier.VerifyFile(context.Background(), bytes.NewReader(attachment), d, nil)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("VerifyFile: %v", err)
			}
			return
		}
		// The first TSA had expired by the record's renewal: only the old
		// renewal token can make it original.
		if v.Original && !bytes.Contains(attrs, renewal) {
			t.Fatalf("original without the old renewal token: attributes %x", attrs)
		}
	})
}
