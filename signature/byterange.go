package signature

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// byteRange is a checked /ByteRange: the signed bytes are [0, gapStart) and
// [gapEnd, end).
type byteRange struct {
	raw      []int64
	gapStart int64
	gapEnd   int64
	end      int64
}

// checkByteRange applies ISO 32000-2 §12.8.1: exactly four non-negative
// integers, the first 0, the excluded gap between the two ranges, nothing
// outside the file. It returns the reasons it is malformed (none when well
// formed).
func checkByteRange(raw []int64, size int64) (byteRange, []string) {
	br := byteRange{raw: raw}
	if len(raw) != 4 {
		return br, []string{fmt.Sprintf("/ByteRange has %d numbers; it must have exactly 4", len(raw))}
	}
	var reasons []string
	for _, v := range raw {
		if v < 0 {
			reasons = append(reasons, "/ByteRange holds a negative number")
			return br, reasons
		}
	}
	if raw[0] != 0 {
		reasons = append(reasons, fmt.Sprintf("/ByteRange starts at %d, not at 0: the beginning of the file is not signed", raw[0]))
	}
	br.gapStart = raw[0] + raw[1]
	br.gapEnd = raw[2]
	br.end = raw[2] + raw[3]
	if br.gapEnd < br.gapStart {
		reasons = append(reasons, "/ByteRange ranges overlap")
	}
	if br.end > size {
		reasons = append(reasons, fmt.Sprintf("/ByteRange reaches byte %d but the file has only %d", br.end, size))
	}
	return br, reasons
}

// hashRanges streams the ranges of r (pairs of offset, length) into h. It
// reports false when a range lies outside [0, size) or cannot be read in
// full: the bytes the signer claims to have signed are not all there.
func hashRanges(r io.ReaderAt, size int64, ranges []int64, h hash.Hash, buf []byte) (bool, error) {
	if len(ranges)%2 != 0 {
		return false, nil
	}
	for i := 0; i < len(ranges); i += 2 {
		off, n := ranges[i], ranges[i+1]
		if off < 0 || n < 0 || off > size || n > size-off {
			return false, nil
		}
		if _, err := io.CopyBuffer(h, io.NewSectionReader(r, off, n), buf); err != nil {
			return false, err
		}
	}
	return true, nil
}

// gapIsContents reports whether the excluded gap [gapStart, gapEnd) holds
// exactly a hex string whose value is contents: the defence against
// signature wrapping, where the gap hides other bytes than the signature.
func gapIsContents(r io.ReaderAt, br byteRange, contents []byte) (bool, string) {
	n := br.gapEnd - br.gapStart
	if n < 2 {
		return false, "the gap excluded by /ByteRange is too short to hold /Contents"
	}
	// The gap holds the hex form of /Contents: at most 2 hex digits a byte
	// plus delimiters and white space. Bound what we read by that.
	if n > int64(4*len(contents)+64) {
		return false, "the gap excluded by /ByteRange is larger than the /Contents string: unsigned bytes are hidden in it"
	}
	// The gap is only looked at here: read it into a pooled buffer, not a
	// fresh one per signature.
	var gap []byte
	if bp := hashBufs.Get().(*[]byte); n <= int64(len(*bp)) {
		defer hashBufs.Put(bp)
		gap = (*bp)[:n]
	} else {
		hashBufs.Put(bp)
		gap = make([]byte, n)
	}
	if _, err := r.ReadAt(gap, br.gapStart); err != nil {
		return false, "the gap excluded by /ByteRange cannot be read"
	}
	if gap[0] != '<' || gap[len(gap)-1] != '>' {
		return false, "the gap excluded by /ByteRange is not exactly the /Contents hex string"
	}
	body := gap[1 : len(gap)-1]
	if len(body) == 2*len(contents) {
		// The usual layout: nothing but the hex digits of /Contents.
		if equal, ok := hexEqual(body, contents); ok {
			if !equal {
				return false, "the gap excluded by /ByteRange is not this signature's /Contents"
			}
			return true, ""
		}
	}
	clean := make([]byte, 0, len(body))
	for _, c := range body {
		switch {
		case isHex(c):
			clean = append(clean, c)
		default:
			// White space is legal in a hex string (ISO 32000-2
			// §7.3.4.3), but in the signature gap it is bytes no
			// signature covers and no conforming signer writes: the gap
			// is the hex digits of the value and its zero padding.
			return false, "the /Contents gap excluded by /ByteRange holds bytes that are not hex digits; it must be the hex string of the signature padded with hex zeros"
		}
	}
	if len(clean)%2 == 1 {
		clean = append(clean, '0')
	}
	dec := make([]byte, len(clean)/2)
	if _, err := hex.Decode(dec, clean); err != nil {
		return false, "the gap excluded by /ByteRange holds bytes that are not hex digits"
	}
	if !bytes.Equal(dec, contents) {
		return false, "the gap excluded by /ByteRange is not this signature's /Contents"
	}
	return true, ""
}

// hexEqual decodes the hex digits h (2*len(want) of them) and reports
// whether they are want; ok is false when h is not all hex digits. It
// decodes through a small buffer on the stack rather than allocating a
// copy of /Contents, which is kilobytes per signature.
func hexEqual(h, want []byte) (equal, ok bool) {
	var tmp [512]byte
	equal = true
	for len(h) > 0 {
		if len(h) >= 8 && binary.LittleEndian.Uint64(h) == zeroDigits {
			// Zero padding, usually most of /Contents: compare eight
			// digits at a time without decoding.
			if equal && binary.LittleEndian.Uint32(want) != 0 {
				equal = false
			}
			h, want = h[8:], want[4:]
			continue
		}
		k := min(len(h), 2*len(tmp))
		n, err := hex.Decode(tmp[:], h[:k])
		if err != nil {
			return false, false
		}
		// Keep decoding after a difference: a bad digit further on
		// decides the outcome, as when the whole string was decoded first.
		if equal && !bytes.Equal(tmp[:n], want[:n]) {
			equal = false
		}
		h, want = h[k:], want[n:]
	}
	return equal, true
}

// zeroDigits is "00000000" read as a little-endian word.
const zeroDigits = 0x3030303030303030

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// trimCMS drops the zero padding that follows the DER ContentInfo in a
// /Contents placeholder.
func trimCMS(b []byte) []byte {
	// A DER SEQUENCE header tells the real length.
	if len(b) < 2 || b[0] != 0x30 {
		return b
	}
	l := int(b[1])
	hdr := 2
	if l == 0x80 {
		return b // indefinite length (BER): the CMS parser finds the end
	}
	if l > 0x80 {
		n := l & 0x7f
		if n > 4 || len(b) < 2+n {
			return b
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if hdr+l <= len(b) && l >= 0 {
		return b[:hdr+l]
	}
	return b
}
