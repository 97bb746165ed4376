package signature

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// swUpdate collects the objects of one incremental update (ISO 32000-2
// §7.5.6) and lays them out after the input, with a cross-reference
// section in the style of the input's newest revision: a classic table
// (§7.5.4) or a cross-reference stream (§7.5.8), and /Prev pointing at the
// previous section.
type swUpdate struct {
	f       *pdf.File
	in      io.ReaderAt
	size    int64
	last    int
	nextNum int
	objs    map[int]*swObj
	trailer pdf.Dict // /Root, /Info, /ID carried over
	prev    int64
	xrefStm bool
	needEOL bool
	// offsets of each object in the increment, filled by build.
	offsets map[int]int
}

type swObj struct {
	ref  pdf.Ref
	body []byte
}

// swOpen opens in for an incremental update. Encrypted files and files
// whose cross-reference data had to be repaired are refused: an update
// would need their encryption keys, or would chain onto broken data.
func swOpen(in io.ReaderAt, size int64) (*swUpdate, error) {
	f, err := pdf.Open(in, size, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedDocument, err)
	}
	if f.Encrypted() {
		return nil, fmt.Errorf("%w: the file is encrypted", ErrUnsupportedDocument)
	}
	revs := f.Revisions()
	last := revs[len(revs)-1]
	if f.Repaired() || last.XrefOffset < 0 {
		return nil, fmt.Errorf("%w: the cross-reference data is damaged; repair the file (e.g. qpdf) first", ErrUnsupportedDocument)
	}
	// /Root, /Info and /ID as of the newest trailer that has each (an
	// update's trailer should repeat them, ISO 32000-2 §7.5.6, but some
	// writers do not).
	trailer := pdf.Dict{}
	for i := len(revs) - 1; i >= 0; i-- {
		for _, k := range []pdf.Name{"Root", "Info", "ID"} {
			if v, ok := revs[i].Trailer[k]; ok && trailer[k] == nil {
				trailer[k] = v
			}
		}
	}
	u := &swUpdate{f: f, in: in, size: size, last: len(revs) - 1, objs: map[int]*swObj{}, trailer: trailer, prev: last.XrefOffset}
	head := make([]byte, 4)
	if _, err := in.ReadAt(head, last.XrefOffset); err != nil {
		return nil, fmt.Errorf("read cross-reference section: %w", err)
	}
	u.xrefStm = string(head) != "xref"
	n, ok := last.Trailer.Int("Size")
	if !ok || n <= 0 || n > 1<<23 {
		n = 1
		for _, r := range revs {
			for num := range r.Entries {
				n = max(n, int64(num)+1)
			}
		}
	}
	u.nextNum = int(n)
	tail := make([]byte, 1)
	if _, err := in.ReadAt(tail, size-1); err != nil {
		return nil, fmt.Errorf("read end of file: %w", err)
	}
	u.needEOL = tail[0] != '\n' && tail[0] != '\r'
	return u, nil
}

func (u *swUpdate) newRef() pdf.Ref {
	r := pdf.Ref{Num: u.nextNum}
	u.nextNum++
	return r
}

// object returns ref's current value as of the newest revision.
func (u *swUpdate) object(o pdf.Object) (pdf.Object, error) {
	return u.f.Resolve(o, u.last)
}

func (u *swUpdate) set(ref pdf.Ref, o pdf.Object) error {
	var b bytes.Buffer
	if err := swWrite(&b, o, 0); err != nil {
		return err
	}
	u.objs[ref.Num] = &swObj{ref: ref, body: b.Bytes()}
	return nil
}

func (u *swUpdate) setStream(ref pdf.Ref, d pdf.Dict, data []byte) error {
	d = swCopyDict(d)
	d["Length"] = int64(len(data))
	var b bytes.Buffer
	if err := swWrite(&b, d, 0); err != nil {
		return err
	}
	b.WriteString("\nstream\n")
	b.Write(data)
	b.WriteString("\nendstream")
	u.objs[ref.Num] = &swObj{ref: ref, body: b.Bytes()}
	return nil
}

// build returns the bytes to append to the input. Offsets in the
// cross-reference section count from the start of the input.
func (u *swUpdate) build() ([]byte, error) {
	var b bytes.Buffer
	if u.needEOL {
		b.WriteByte('\n')
	}
	nums := make([]int, 0, len(u.objs)+1)
	for n := range u.objs {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	u.offsets = map[int]int{}
	gens := map[int]int{}
	for _, n := range nums {
		o := u.objs[n]
		u.offsets[n] = b.Len()
		gens[n] = o.ref.Gen
		fmt.Fprintf(&b, "%d %d obj\n", n, o.ref.Gen)
		b.Write(o.body)
		b.WriteString("\nendobj\n")
	}
	tr := pdf.Dict{"Prev": u.prev}
	for _, k := range []pdf.Name{"Root", "Info", "ID"} {
		if v, ok := u.trailer[k]; ok {
			tr[k] = v
		}
	}
	if _, ok := tr["Root"]; !ok {
		return nil, fmt.Errorf("%w: newest trailer has no /Root", ErrUnsupportedDocument)
	}
	if !u.xrefStm {
		tr["Size"] = int64(u.nextNum)
		xref := u.size + int64(b.Len())
		b.WriteString("xref\n")
		for i := 0; i < len(nums); {
			j := i
			for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
				j++
			}
			fmt.Fprintf(&b, "%d %d\n", nums[i], j-i+1)
			for k := i; k <= j; k++ {
				// 20-byte entries (§7.5.4).
				fmt.Fprintf(&b, "%010d %05d n\r\n", u.size+int64(u.offsets[nums[k]]), gens[nums[k]])
			}
			i = j + 1
		}
		b.WriteString("trailer\n")
		if err := swWrite(&b, tr, 0); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\nstartxref\n%d\n%%%%EOF\n", xref)
		return b.Bytes(), nil
	}
	// Cross-reference stream: it lists itself too.
	self := u.newRef()
	xref := u.size + int64(b.Len())
	u.offsets[self.Num] = b.Len()
	nums = append(nums, self.Num)
	gens[self.Num] = 0
	w2 := 4
	if xref > 0xffffffff {
		w2 = 8
	}
	var data []byte
	var index pdf.Array
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		index = append(index, int64(nums[i]), int64(j-i+1))
		for k := i; k <= j; k++ {
			row := make([]byte, 1+w2+2)
			row[0] = 1
			off := uint64(u.size + int64(u.offsets[nums[k]]))
			if w2 == 4 {
				binary.BigEndian.PutUint32(row[1:], uint32(off))
			} else {
				binary.BigEndian.PutUint64(row[1:], off)
			}
			binary.BigEndian.PutUint16(row[1+w2:], uint16(gens[nums[k]]))
			data = append(data, row...)
		}
		i = j + 1
	}
	tr["Type"] = pdf.Name("XRef")
	tr["Size"] = int64(u.nextNum)
	tr["W"] = pdf.Array{int64(1), int64(w2), int64(2)}
	tr["Index"] = index
	tr["Length"] = int64(len(data))
	fmt.Fprintf(&b, "%d 0 obj\n", self.Num)
	if err := swWrite(&b, tr, 0); err != nil {
		return nil, err
	}
	b.WriteString("\nstream\n")
	b.Write(data)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes(), nil
}
