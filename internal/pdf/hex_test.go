package pdf

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// randomHex returns hex digits with long runs of '0' (like a /Contents
// placeholder), sometimes with a bad byte or white space in them.
func randomHex(r *rand.Rand) []byte {
	var b []byte
	for range r.IntN(8) {
		n := r.IntN(40)
		if r.IntN(2) == 0 {
			b = append(b, bytes.Repeat([]byte("0"), n)...)
			continue
		}
		for range n {
			b = append(b, "0123456789abcdefABCDEF"[r.IntN(22)])
		}
	}
	if r.IntN(4) == 0 && len(b) > 0 {
		b[r.IntN(len(b))] = " \nxg>"[r.IntN(5)]
	}
	return b
}

// TestDecodeHexMatchesEncodingHex checks the zero-run fast paths against
// the plain decoder and the table check against the digit-by-digit one.
func TestDecodeHexMatchesEncodingHex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		src := randomHex(r)
		if len(src)%2 == 0 {
			want := make([]byte, len(src)/2)
			_, err := hex.Decode(want, src)
			got := make([]byte, len(src)/2)
			ok := decodeHex(got, src)
			if ok != (err == nil) || (ok && !bytes.Equal(got, want)) {
				t.Fatalf("decodeHex(%q) = %x, %v; encoding/hex: %x, %v", src, got, ok, want, err)
			}
		}
		want := true
		for _, c := range src {
			if unhex(c) < 0 && !isSpace(c) {
				want = false
			}
		}
		if got := allHexOrSpace(src); got != want {
			t.Fatalf("allHexOrSpace(%q) = %v", src, got)
		}
	}
}

// TestHexSkipSameErrors checks that skipping a string (spans) fails where
// decoding it does, and that both agree with a parse from a window that
// ends inside the string.
func TestHexSkipSameErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		in := append(append([]byte("<"), randomHex(r)...), '>')
		var res [2]error
		var pos [2]int
		for k, skip := range []bool{false, true} {
			p := &parser{b: in, maxDepth: defaultMaxDepth, final: true, skipStrings: skip}
			o, err := p.object(0)
			res[k], pos[k] = err, p.pos
			if err == nil && skip && o.(String) != nil {
				t.Fatalf("skipped string decoded: %q", in)
			}
		}
		if (res[0] == nil) != (res[1] == nil) || pos[0] != pos[1] || (res[0] != nil && res[0].Error() != res[1].Error()) {
			t.Fatalf("%q: decode %v at %d, skip %v at %d", in, res[0], pos[0], res[1], pos[1])
		}
		for cut := 1; cut < len(in); cut += 1 + r.IntN(7) {
			p := &parser{b: in[:cut], maxDepth: defaultMaxDepth}
			_, err := p.object(0)
			if err == nil && res[0] == nil && cut >= pos[0] {
				continue // the window holds the whole string
			}
			if err != errShort && (err == nil || res[0] == nil || err.Error() != res[0].Error()) {
				t.Fatalf("%q cut at %d: %v, whole: %v", in, cut, err, res[0])
			}
		}
	}
}
