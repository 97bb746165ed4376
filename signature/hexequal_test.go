package signature

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestHexEqualMatchesDecode checks hexEqual, with its zero-padding fast
// path, against decoding the whole string and comparing.
func TestHexEqualMatchesDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 20000 {
		want := make([]byte, r.IntN(1500))
		for i := range want[:r.IntN(len(want)+1)] {
			want[i] = byte(r.IntN(256))
		}
		h := []byte(hex.EncodeToString(want))
		if r.IntN(2) == 0 {
			h = bytes.ToUpper(h)
		}
		if len(h) > 0 && r.IntN(3) == 0 {
			h[r.IntN(len(h))] = "0123456789abcdefxg \n"[r.IntN(20)]
		}
		dec := make([]byte, len(want))
		_, err := hex.Decode(dec, h)
		equal, ok := hexEqual(h, want)
		if ok != (err == nil) || (ok && equal != bytes.Equal(dec, want)) {
			t.Fatalf("hexEqual(%q) = %v, %v; decoding: %v, equal %v", h, equal, ok, err, bytes.Equal(dec, want))
		}
	}
}
