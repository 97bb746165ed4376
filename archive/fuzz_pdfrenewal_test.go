package archive_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
)

// FuzzPDFRenewalDue feeds arbitrary tails after a sealed PDF (and arbitrary
// files) to PDFRenewalDue, whose fast path parses the newest document
// timestamp out of the file's tail: it must never panic and fail only
// with kind Unavailable (the full validation could not run); an intact
// sealed PDF is never due in 2026.
func FuzzPDFRenewalDue(f *testing.F) {
	p := testpki.New(f)
	s := newService(f, p, p.TSA, testpki.Now, nil)
	sealed := seal(f, s, signedContract(f, p, signature.LevelBT))
	f.Add(sealed, 0)
	f.Add(sealed[len(sealed)-2000:], 1)
	f.Add([]byte("/ByteRange [0 10 20 5] /Contents <3000>"), 2)
	f.Fuzz(func(t *testing.T, tail []byte, mode int) {
		var in []byte
		switch mode % 3 {
		case 0:
			in = tail
		case 1:
			in = append(bytes.Clone(sealed[:len(sealed)-len(tail)%len(sealed)]), tail...)
		default:
			in = append(bytes.Clone(sealed), tail...)
		}
		if len(in) == 0 {
			return
		}
		due, _, err := s.PDFRenewalDue(context.Background(), bytes.NewReader(in), int64(len(in)), 365*24*time.Hour)
		if err != nil && !errors.Is(err, kerr.Unavailable) {
			t.Fatalf("error of another kind: %v", err)
		}
		if err == nil && bytes.Equal(in, sealed) && due {
			t.Fatal("the intact sealed PDF is due in 2026")
		}
	})
}
