package signature

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzByteRangeGap drives the byte-level checks that must hold when the
// object structure is broken: checkByteRange, gapIsContents, hashRanges
// and trimCMS. They must not panic, and a gap they accept must be exactly
// a hex string whose value is the contents.
func FuzzByteRangeGap(f *testing.F) {
	f.Add([]byte("%PDF-1.7 /ByteRange [0 10 20 5] /Contents <3003020100> trailer"), int64(0), int64(25), int64(37), int64(10), []byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Add([]byte("<00>"), int64(0), int64(0), int64(4), int64(0), []byte{0})
	f.Add([]byte("xx<0A 0b>yy"), int64(0), int64(2), int64(9), int64(2), []byte{0x0a, 0x0b})
	f.Add([]byte{}, int64(-1), int64(1<<62), int64(-5), int64(0), []byte(nil))
	f.Fuzz(func(t *testing.T, file []byte, a, b, c, d int64, contents []byte) {
		size := int64(len(file))
		br, reasons := checkByteRange([]int64{a, b, c, d}, size)
		if len(reasons) > 0 {
			return
		}
		if br.gapStart < 0 || br.gapEnd < br.gapStart || br.end > size {
			t.Fatalf("accepted a malformed byte range %v", br.raw)
		}
		ok, why := gapIsContents(bytes.NewReader(file), br, contents)
		if ok {
			gap := file[br.gapStart:br.gapEnd]
			if gap[0] != '<' || gap[len(gap)-1] != '>' {
				t.Fatalf("accepted a gap that is not a hex string: %q", gap)
			}
		} else if why == "" {
			t.Fatal("refused a gap without a reason")
		}
		var buf [64]byte
		h := newCountingHash()
		if inFile, err := hashRanges(bytes.NewReader(file), size, br.raw, h, buf[:]); err == nil && inFile {
			if want := b + d; h.n != want {
				t.Fatalf("hashed %d bytes, the ranges hold %d", h.n, want)
			}
		}
		_ = trimCMS(contents)
	})
}

// countingHash counts what is written to it.
type countingHash struct{ n int64 }

func newCountingHash() *countingHash                { return &countingHash{} }
func (h *countingHash) Write(p []byte) (int, error) { h.n += int64(len(p)); return len(p), nil }
func (h *countingHash) Sum(b []byte) []byte         { return binary.BigEndian.AppendUint64(b, uint64(h.n)) }
func (h *countingHash) Reset()                      { h.n = 0 }
func (h *countingHash) Size() int                   { return 8 }
func (h *countingHash) BlockSize() int              { return 1 }
