package signature

import (
	"bytes"
	"io"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Limits of the byte-level scan used when the file does not parse.
const (
	maxScanDicts   = 64
	scanWindow     = 64 << 10 // how far before /ByteRange a dictionary may start
	scanDictLength = 1 << 20  // how long a signature dictionary may be
)

// byteScanFallback finds signature dictionaries by their bytes when the
// object structure of the file is broken: every "/ByteRange" is read back to
// the "<<" that opens its dictionary. Each one found gets the byte-range
// and CMS checks; none can pass, since the document itself cannot be read.
func (v *validator) byteScanFallback() error {
	offs, err := scanFor(v.r, v.size, []byte("/ByteRange"), maxScanDicts)
	if err != nil {
		return err
	}
	for _, off := range offs {
		d, ok := v.dictAround(off)
		if !ok {
			continue
		}
		e := &entry{dict: d, direct: true, signedRev: -1}
		if err := v.checkAll([]*entry{e}); err != nil {
			return err
		}
		e.verdict.indeterminate(FormatFailure, "the PDF structure is broken, so what the signature covers cannot be checked")
		e.rep.Modification = ModificationNone
		e.rep.Indication, e.rep.SubIndication = e.verdict.result()
		e.rep.Reasons = e.verdict.reasons
		e.rep.Problems = e.verdict.problems
		v.entries = append(v.entries, e)
	}
	return nil
}

// dictAround parses the dictionary that holds the key at off.
func (v *validator) dictAround(off int64) (pdf.Dict, bool) {
	start := off - scanWindow
	if start < 0 {
		start = 0
	}
	end := off + scanDictLength
	if end > v.size {
		end = v.size
	}
	b := make([]byte, end-start)
	n, err := v.r.ReadAt(b, start)
	if err != nil && err != io.EOF {
		return nil, false
	}
	b = b[:n]
	key := off - start
	// Try each "<<" before the key, nearest first.
	for i := int(key); i >= 0; i-- {
		j := bytes.LastIndex(b[:i], []byte("<<"))
		if j < 0 {
			return nil, false
		}
		o, err := pdf.ParseObject(b[j:])
		if d, ok := o.(pdf.Dict); err == nil && ok && d["ByteRange"] != nil {
			return d, true
		}
		i = j
	}
	return nil, false
}

// scanFor returns the offsets of up to max occurrences of pat in r,
// reading it in chunks.
func scanFor(r io.ReaderAt, size int64, pat []byte, max int) ([]int64, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+len(pat))
	var out []int64
	for base := int64(0); base < size; base += chunk {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-base)], base)
		if err != nil && err != io.EOF {
			return nil, err
		}
		b := buf[:n]
		for i := 0; ; {
			j := bytes.Index(b[i:], pat)
			if j < 0 {
				break
			}
			at := base + int64(i+j)
			if at < base+chunk { // the overlap is scanned with the next chunk
				out = append(out, at)
				if len(out) >= max {
					return out, nil
				}
			}
			i += j + 1
		}
	}
	return out, nil
}
