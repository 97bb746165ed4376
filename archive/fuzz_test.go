package archive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// FuzzVerifyFile feeds arbitrary tokens and renewal tokens to VerifyFile:
// it must never panic, fail only with kind Invalid (limits), and call a
// file original only when the tokens really are the chain over it.
func FuzzVerifyFile(f *testing.F) {
	p := testpki.New(f)
	s := newService(f, p, p.TSA, testpki.Now, nil)
	tok := stamp(f, s, attachment)
	renewal, err := s.RenewFileToken(context.Background(), bytes.NewReader(attachment), [][]byte{tok})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(attachment, tok, []byte(nil))
	f.Add(attachment, tok, renewal)
	f.Add(attachment, tok[:len(tok)-1], []byte(nil))
	f.Add(attachment, renewal, tok)
	f.Add([]byte{}, []byte{0x30, 0x80, 0, 0}, []byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, file, token, renew []byte) {
		var renewals [][]byte
		if len(renew) > 0 {
			renewals = [][]byte{renew}
		}
		v, err := s.VerifyFile(context.Background(), bytes.NewReader(file), token, &archive.VerifyOptions{Renewals: renewals})
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !v.Original {
			if len(v.Reasons) == 0 {
				t.Fatal("not original without a reason")
			}
			return
		}
		// Original: the first token must really stamp the file.
		sum := sha256.Sum256(file)
		if _, err := timestamp.Verify(token, sum[:], &timestamp.VerifyOptions{Roots: p.Roots()}); err != nil {
			t.Fatalf("called original, but the token does not verify over the file: %v", err)
		}
	})
}

// FuzzVerifyPDF feeds arbitrary bytes (seeded with a sealed contract and
// damaged copies) to VerifyPDF: a verdict always, never an error or a
// panic, and never original unless the signature package passed it.
func FuzzVerifyPDF(f *testing.F) {
	p := testpki.New(f)
	s := newService(f, p, p.TSA, testpki.Now, nil)
	sealed := seal(f, s, signedContract(f, p, signature.LevelBT))
	f.Add(sealed)
	f.Add(sealed[:len(sealed)/2])
	f.Add(append(bytes.Clone(sealed[:100]), sealed[200:]...))
	f.Add([]byte("%PDF-1.7\n%%EOF"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := s.VerifyPDF(context.Background(), bytes.NewReader(doc), int64(len(doc)), &archive.VerifyOptions{At: testpki.Now})
		if err != nil {
			t.Fatalf("VerifyPDF on bytes in memory must not fail: %v", err)
		}
		if v.Original && (!v.Report.Passed || v.Report.Level != signature.LevelBLTA) {
			t.Fatal("original without a passing B-LTA report")
		}
		if !v.Original && len(v.Reasons) == 0 {
			t.Fatal("not original without a reason")
		}
	})
}
