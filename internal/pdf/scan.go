package pdf

import (
	"bytes"
	"fmt"
	"io"
)

// scanResult holds what one linear pass over the raw bytes found. The pass
// is what lets the package know revision boundaries (%%EOF markers) and
// object positions even when the cross-reference data lies.
type scanResult struct {
	eofStart  []int64 // offset of each "%%EOF"
	eofEnd    []int64 // just past it and one EOL
	startxref []int64 // offset of each "startxref" keyword
	trailers  []int64 // offset of each "trailer" keyword
	objs      []scanObj
	truncated bool // more object headers than Options.MaxObjects
}

type scanObj struct {
	ref Ref
	off int64
}

const (
	scanChunk = 64 << 10
	scanPad   = 48 // enough for "NNNNNNNNNN GGGGG obj" and "%%EOF\r\n"
)

// scan returns the result of the full byte scan, running it once.
func (f *File) scan() (*scanResult, error) {
	f.scanOnce.Do(func() {
		f.scanRes, f.scanErr = f.scanRange(0, f.size)
	})
	return f.scanRes, f.scanErr
}

// lastStartxref finds the offset of the last "startxref" keyword: in the
// last KiB of the file, where ISO 32000-2 §7.5.5 puts it, and only when it
// is not there, by the full scan.
func (f *File) lastStartxref() (int64, error) {
	lo := max(f.size-1024, 0)
	tail, err := f.scanRange(lo, f.size)
	if err != nil {
		return 0, err
	}
	if n := len(tail.startxref); n > 0 {
		return tail.startxref[n-1], nil
	}
	sc, err := f.scan()
	if err != nil {
		return 0, err
	}
	if len(sc.startxref) == 0 {
		return 0, malformed("no startxref")
	}
	return sc.startxref[len(sc.startxref)-1], nil
}

// scanRange scans the bytes [from, to) for %%EOF markers, startxref and
// trailer keywords and object headers.
func (f *File) scanRange(from, to int64) (*scanResult, error) {
	res := &scanResult{}
	// Small ranges (a trailer, the tail of the file) need a small buffer;
	// a file held in memory needs none.
	bufLen := min(scanChunk, max(to-from, 0)) + 2*scanPad
	var buf []byte
	if f.data == nil {
		buf = make([]byte, bufLen)
	}
	for off := from; off < to; off += scanChunk {
		lo := max(off-scanPad, 0)
		hi := min(off+scanChunk+scanPad, f.size, lo+bufLen)
		var b []byte
		if f.data != nil {
			b = f.data[lo:hi]
		} else {
			b = buf[:hi-lo]
			if _, err := f.r.ReadAt(b, lo); err != nil && err != io.EOF {
				return nil, fmt.Errorf("pdf: reading at %d: %w", lo, err)
			}
		}
		// Only matches starting in [off, off+scanChunk) belong to this
		// chunk; the padding gives context on both sides.
		start := int(off - lo)
		end := min(start+scanChunk, len(b), int(to-lo))
		res.find(b, lo, start, end, f.opts.MaxObjects)
	}
	return res, nil
}

func (res *scanResult) find(b []byte, base int64, from, to, maxObjs int) {
	for i := from; i < to; {
		j := bytes.IndexAny(b[i:to], "%sto")
		if j < 0 {
			return
		}
		i += j
		switch {
		case bytes.HasPrefix(b[i:], []byte("%%EOF")):
			end := i + 5
			if end < len(b) && b[end] == '\r' {
				end++
			}
			if end < len(b) && b[end] == '\n' {
				end++
			}
			if len(res.eofStart) < maxObjs {
				res.eofStart = append(res.eofStart, base+int64(i))
				res.eofEnd = append(res.eofEnd, base+int64(end))
			}
			i += 5
		case bytes.HasPrefix(b[i:], []byte("startxref")) && (i == 0 || !isRegular(b[i-1])):
			if len(res.startxref) < maxObjs {
				res.startxref = append(res.startxref, base+int64(i))
			}
			i += 9
		case bytes.HasPrefix(b[i:], []byte("trailer")) && (i == 0 || !isRegular(b[i-1])):
			if len(res.trailers) < maxObjs {
				res.trailers = append(res.trailers, base+int64(i))
			}
			i += 7
		case bytes.HasPrefix(b[i:], []byte("obj")) && (i+3 >= len(b) || !isRegular(b[i+3])):
			if ref, start, ok := objHeaderBefore(b, i); ok {
				if len(res.objs) < maxObjs {
					res.objs = append(res.objs, scanObj{ref, base + int64(start)})
				} else {
					res.truncated = true
				}
			}
			i += 3
		default:
			i++
		}
	}
}

// objHeaderBefore checks that "obj" at i is preceded by "N G " and returns
// the offset of N.
func objHeaderBefore(b []byte, i int) (Ref, int, bool) {
	k := i
	var nums [2]int
	for n := 1; n >= 0; n-- {
		sp := k
		for k > 0 && isSpace(b[k-1]) {
			k--
		}
		if k == sp {
			return Ref{}, 0, false
		}
		e := k
		for k > 0 && b[k-1] >= '0' && b[k-1] <= '9' && e-k < 10 {
			k--
		}
		if k == e {
			return Ref{}, 0, false
		}
		v := 0
		for _, c := range b[k:e] {
			v = v*10 + int(c-'0')
		}
		nums[n] = v
	}
	if k > 0 && isRegular(b[k-1]) {
		return Ref{}, 0, false
	}
	if nums[1] > 65535 {
		return Ref{}, 0, false
	}
	return Ref{Num: nums[0], Gen: nums[1]}, k, true
}
