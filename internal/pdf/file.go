package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Options bounds the work Open and File methods do on hostile input. A nil
// *Options, or a zero field, means the default given for that field.
type Options struct {
	// MaxObjects bounds the number of cross-reference entries read over all
	// revisions, and the number of object headers and %%EOF markers the
	// byte scan records. Default 1,048,576.
	MaxObjects int
	// MaxDepth bounds the nesting of arrays and dictionaries and the length
	// of reference chains followed by Resolve. Default 64.
	MaxDepth int
	// MaxStreamSize bounds the decoded size of any stream read (including
	// cross-reference and object streams) and the size of a single object's
	// text. Default 64 MiB.
	MaxStreamSize int64
	// MaxRevisions bounds the revisions (cross-reference sections on the
	// /Prev chain); past it Open fails with an error wrapping ErrLimit
	// rather than repairing the file into fewer revisions. Real files have
	// a few dozen. Work per revision is constant, so the bound is about
	// memory: about 0.5 KiB kept (2 KiB allocated) a revision, some
	// 100 MiB at the default limit, which a 20 MiB file of empty updates
	// can just about reach. Default 200,000.
	MaxRevisions int
}

const (
	defaultMaxObjects    = 1 << 20
	defaultMaxStreamSize = 64 << 20
	defaultMaxRevisions  = 200000
	// manyRevisions is the number of revisions past which Open finds the
	// %%EOF markers with one scan of the file rather than one read each.
	manyRevisions = 64
	// cacheMax bounds the parsed-object cache (entries).
	cacheMax = 8192
	// maxInMemory bounds the size of an in-memory source (see inMemory)
	// that Open copies into one buffer. Measured: for a contract of some
	// tens of KiB the copy costs less than the object windows it saves,
	// but copying 1 MiB to sign it (which reads only a few objects) made
	// signing 20% slower.
	maxInMemory = 256 << 10
)

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxObjects <= 0 {
		r.MaxObjects = defaultMaxObjects
	}
	if r.MaxRevisions <= 0 {
		r.MaxRevisions = defaultMaxRevisions
	}
	if r.MaxDepth <= 0 {
		r.MaxDepth = defaultMaxDepth
	}
	if r.MaxStreamSize <= 0 {
		r.MaxStreamSize = defaultMaxStreamSize
	}
	return r
}

// Revision is one revision of the file: the original document or one
// incremental update (ISO 32000-2 §7.5.6).
type Revision struct {
	// Index is 0-based, oldest first.
	Index int
	// XrefOffset is where this revision's cross-reference table ("xref")
	// or stream ("N G obj") starts; for a reconstructed revision, -1.
	XrefOffset int64
	// End is the offset just past this revision's %%EOF marker plus one
	// EOL (CR, LF or CRLF) if present; the file size when no marker
	// follows the revision.
	End int64
	// Trailer is the trailer dictionary; for a cross-reference stream, the
	// stream dictionary. Never nil.
	Trailer Dict
	// Entries holds the objects defined (in use or freed) by this
	// revision's cross-reference section, keyed by object number.
	Entries map[int]Entry
}

// Entry is one cross-reference entry (§7.5.4, §7.5.8.3).
type Entry struct {
	// Gen is the generation number; for a free entry, the generation to
	// use if the number is reused.
	Gen int
	// Offset is the file offset of "N G obj" for an object stored directly.
	Offset int64
	// Stream is the number of the object stream holding the object; 0 if
	// none. Index is the object's index within that stream.
	Stream int
	Index  int
	Free   bool
}

// File is an opened PDF. Its methods are safe for concurrent use. Objects
// it returns are shared with an internal cache and must not be modified.
type File struct {
	r    io.ReaderAt
	size int64
	// data, when not nil, is the whole file (size bytes), copied once at
	// Open from a small in-memory source. read then returns subslices of
	// it instead of a fresh copy per window, and parseAt needs no retries.
	// Nothing may modify it: the parser only reads its input and copies
	// what it returns (names, strings).
	data      []byte
	opts      Options
	revs      []*Revision
	encrypted bool

	// The full byte scan is expensive on large files (a pass over every
	// byte); it runs only when the cross-reference data does not hold up
	// or when a caller asks for every %%EOF marker.
	scanOnce sync.Once
	scanRes  *scanResult
	scanErr  error

	scanIndexOnce sync.Once
	scanIndex     map[Ref][]int64 // object headers by reference, in file order

	// defs lists for each object number, oldest first, the revisions
	// whose cross-reference data defines it, so that EntryFor is a binary
	// search rather than a walk back through every revision.
	defs map[int][]int32

	mu       sync.Mutex
	repaired bool
	cache    map[cacheKey]Object
	objstms  map[int64]*objStm
}

type cacheKey struct {
	off     int64
	streams bool
}

// Open reads the structure of the PDF in r (size bytes): the header, every
// revision's cross-reference section (following startxref and /Prev, with
// loop detection) and every %%EOF marker. When the cross-reference data is
// unusable, the object table is reconstructed from a scan of the bytes and
// Repaired reports true.
//
// Open fails only when there is nothing usable: no %PDF- header (ErrNotPDF),
// no object at all (ErrMalformed), or an I/O error from r (returned
// wrapped). Encrypted files open normally. opts may be nil.
func Open(r io.ReaderAt, size int64, opts *Options) (*File, error) {
	f := &File{
		r:       r,
		size:    size,
		opts:    opts.withDefaults(),
		cache:   map[cacheKey]Object{},
		objstms: map[int64]*objStm{},
	}
	if size < 8 {
		return nil, fmt.Errorf("%w: only %d bytes", ErrNotPDF, size)
	}
	f.data = inMemory(r, size)
	head, err := f.read(0, 1024)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(head, []byte("%PDF-")) {
		return nil, fmt.Errorf("%w: no %%PDF- header in the first 1024 bytes", ErrNotPDF)
	}
	if err := f.readChain(); err != nil {
		var ioErr *ioError
		if errors.As(err, &ioErr) || errors.Is(err, ErrLimit) {
			return nil, err
		}
		f.repaired = true
		if _, err := f.scan(); err != nil {
			return nil, err
		}
		if err := f.reconstruct(); err != nil {
			return nil, err
		}
	}
	if !f.repaired {
		// Object headers after the last indexed revision: an update whose
		// cross-reference data is missing or cut off. Keep the indexed
		// revisions and add one reconstructed from those bytes.
		last := f.revs[len(f.revs)-1].End
		if last < f.size {
			tail, err := f.scanRange(last, f.size)
			if err != nil {
				return nil, err
			}
			if len(tail.objs) > 0 {
				f.repaired = true
				if _, err := f.scan(); err != nil {
					return nil, err
				}
				f.segmentRevision(last, f.size)
			}
		}
	}
	for _, rev := range f.revs {
		if _, ok := rev.Trailer["Encrypt"]; ok {
			f.encrypted = true
		}
	}
	f.indexEntries()
	return f, nil
}

// indexEntries builds defs from the revisions' entries.
func (f *File) indexEntries() {
	f.defs = map[int][]int32{}
	for i, rev := range f.revs {
		for num := range rev.Entries {
			f.defs[num] = append(f.defs[num], int32(i))
		}
	}
}

// ioError marks an error from the underlying io.ReaderAt, which must not be
// mistaken for damage in the file.
type ioError struct{ err error }

func (e *ioError) Error() string { return "pdf: read error: " + e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// inMemory returns the size bytes of r when r is a small in-memory source
// (a *bytes.Reader or *strings.Reader of at most maxInMemory bytes), else
// nil. Copying such a source once costs a memmove; reading it window by
// window costs an allocation and a copy per object, and parseAt retries
// with growing windows. Other readers (files) are never read whole, so
// memory does not grow with the file. A source shorter than size is left
// to the windowed path, which already copes with short reads.
func inMemory(r io.ReaderAt, size int64) []byte {
	switch r.(type) {
	case *bytes.Reader, *strings.Reader:
	default:
		return nil
	}
	if size > maxInMemory {
		return nil
	}
	b := make([]byte, size)
	if n, err := r.ReadAt(b, 0); n != len(b) || (err != nil && err != io.EOF) {
		return nil
	}
	return b
}

// read returns up to n bytes at off (fewer at the end of the file). The
// result must not be modified: it may be part of f.data.
func (f *File) read(off int64, n int) ([]byte, error) {
	if off < 0 || off >= f.size {
		return nil, malformed("offset %d outside the file (size %d)", off, f.size)
	}
	if rem := f.size - off; int64(n) > rem {
		n = int(rem)
	}
	if f.data != nil {
		return f.data[off : off+int64(n) : off+int64(n)], nil
	}
	b := make([]byte, n)
	k, err := f.r.ReadAt(b, off)
	if err != nil && !(err == io.EOF && k == n) {
		if err == io.EOF {
			return b[:k], nil
		}
		return nil, &ioError{err}
	}
	return b, nil
}

// parseAt runs fn on a parser over a window of the file starting at off,
// doubling the window while fn reports errShort, up to maxLen bytes or the
// end of the file.
func (f *File) parseAt(off int64, maxLen int64, fn func(p *parser) error) error {
	n := int64(1024)
	if f.data != nil {
		// The whole file is in memory: a window of maxLen costs nothing,
		// and the loop below runs once.
		n = maxLen
	}
	for {
		b, err := f.read(off, int(min(n, maxLen)))
		if err != nil {
			return err
		}
		p := &parser{b: b, maxDepth: f.opts.MaxDepth, final: off+int64(len(b)) >= f.size}
		err = fn(p)
		if !errors.Is(err, errShort) {
			return err
		}
		if p.final || n >= maxLen {
			if !p.final {
				return limit("object at offset %d is larger than %d bytes", off, maxLen)
			}
			return malformed("object at offset %d runs past the end of the file", off)
		}
		n *= 4
	}
}

// section is one cross-reference section as read from the file.
type section struct {
	offset  int64
	trailer Dict
	entries map[int]Entry
	prev    int64 // -1: none
}

func (f *File) readChain() error {
	last, err := f.lastStartxref()
	if err != nil {
		return err
	}
	// Only the last startxref counts (§7.5.5); if it is wrong, an earlier
	// one would silently hide the later revisions, so reconstruct instead.
	start := int64(-1)
	_ = f.parseAt(last+9, 64, func(p *parser) error {
		p.final = true
		p.skipSpace()
		w := p.word()
		if v, err := strconv.ParseInt(string(w), 10, 64); err == nil && v > 0 && v < f.size {
			start = v
		}
		return nil
	})
	if start < 0 {
		return malformed("the last startxref gives no offset inside the file")
	}
	var secs []*section
	seen := map[int64]bool{}
	total := 0
	for off := start; off >= 0; {
		if seen[off] {
			// A /Prev loop (e.g. pades_infinite_loop.pdf): keep what was
			// read, note the damage.
			f.repaired = true
			break
		}
		seen[off] = true
		if len(secs) >= f.opts.MaxRevisions {
			return limit("more than %d revisions (cross-reference sections); the limit is there to bound the work on hostile files", f.opts.MaxRevisions)
		}
		sec, err := f.readSection(off, &total)
		if err != nil {
			return fmt.Errorf("cross-reference section at %d: %w", off, err)
		}
		secs = append(secs, sec)
		off = sec.prev
	}
	f.groupSections(secs)
	return nil
}

// groupSections turns the /Prev chain (newest first) into revisions, oldest
// first. A /Prev pointing forward in the file is the main table of a
// linearized file (ISO 32000-2 Annex F): it belongs to the same revision as
// the first-page table that points to it.
func (f *File) groupSections(secs []*section) {
	type group struct {
		first   *section
		maxOff  int64
		entries map[int]Entry
	}
	var groups []*group
	for i, s := range secs {
		if i > 0 && s.offset > secs[i-1].offset && len(groups) > 0 {
			g := groups[len(groups)-1]
			for k, e := range s.entries {
				if _, ok := g.entries[k]; !ok {
					g.entries[k] = e
				}
			}
			g.maxOff = max(g.maxOff, s.offset)
			continue
		}
		groups = append(groups, &group{first: s, maxOff: s.offset, entries: s.entries})
	}
	slices.Reverse(groups)
	if len(groups) > manyRevisions && f.data == nil {
		// One pass over the file finds every %%EOF, where a window read
		// after each of many small revisions would read the file many
		// times over.
		_, _ = f.scan()
	}
	for i, g := range groups {
		f.revs = append(f.revs, &Revision{
			Index:      i,
			XrefOffset: g.first.offset,
			End:        f.eofAfter(g.maxOff),
			Trailer:    g.first.trailer,
			Entries:    g.entries,
		})
	}
}

// eofAfter returns the End of the first %%EOF marker after off. It reads
// forward from off, which in a well-formed file is a short way: the
// cross-reference section and trailer.
func (f *File) eofAfter(off int64) int64 {
	if f.scanRes != nil {
		sc := f.scanRes
		i := sort.Search(len(sc.eofStart), func(i int) bool { return sc.eofStart[i] > off })
		if i < len(sc.eofStart) {
			return sc.eofEnd[i]
		}
		return f.size
	}
	if f.data != nil {
		// The first marker after off, as the windows below would find it,
		// without scanRange collecting every keyword and object header
		// on the way.
		if off+1 >= f.size {
			return f.size
		}
		i := bytes.Index(f.data[off+1:], []byte("%%EOF"))
		if i < 0 {
			return f.size
		}
		end := off + 1 + int64(i) + 5
		if end < f.size && f.data[end] == '\r' {
			end++
		}
		if end < f.size && f.data[end] == '\n' {
			end++
		}
		return end
	}
	window := int64(4 << 10) // a trailer fits; grow if it does not
	for lo := off + 1; lo < f.size; {
		hi := min(lo+window, f.size)
		res, err := f.scanRange(lo, hi)
		if err != nil {
			break
		}
		if len(res.eofEnd) > 0 {
			return res.eofEnd[0]
		}
		lo, window = hi, scanChunk
	}
	return f.size
}

func (f *File) readSection(off int64, total *int) (*section, error) {
	b, err := f.read(off, 4)
	if err != nil {
		return nil, err
	}
	if string(b) == "xref" {
		return f.readTable(off, total)
	}
	return f.readXrefStream(off, total, true)
}

// readTable reads a classic cross-reference table and its trailer
// (§7.5.4, §7.5.5).
func (f *File) readTable(off int64, total *int) (*section, error) {
	sec := &section{offset: off, prev: -1, entries: map[int]Entry{}}
	maxLen := int64(f.opts.MaxObjects)*21 + 1<<16
	err := f.parseAt(off, maxLen, func(p *parser) error {
		clear(sec.entries)
		n := *total
		p.keyword("xref")
		for {
			p.skipSpace()
			if p.keyword("trailer") {
				break
			}
			var hdr [2]int64
			for k := range hdr {
				p.skipSpace()
				w := p.word()
				if p.cut(p.pos + len(w)) {
					return errShort
				}
				v, err := strconv.ParseInt(string(w), 10, 32)
				if err != nil || v < 0 {
					return malformed("bad subsection header at offset %d", off+int64(p.pos))
				}
				hdr[k] = v
				p.pos += len(w)
			}
			for i := int64(0); i < hdr[1]; i++ {
				if n++; n > f.opts.MaxObjects {
					return limit("more than %d cross-reference entries", f.opts.MaxObjects)
				}
				var fld [3][]byte
				for k := range fld {
					p.skipSpace()
					fld[k] = p.word()
					if p.cut(p.pos + len(fld[k])) {
						return errShort
					}
					p.pos += len(fld[k])
				}
				o, err1 := strconv.ParseInt(string(fld[0]), 10, 64)
				g, err2 := strconv.Atoi(string(fld[1]))
				if err1 != nil || err2 != nil || len(fld[2]) != 1 || (fld[2][0] != 'n' && fld[2][0] != 'f') {
					return malformed("bad entry for object %d at offset %d", hdr[0]+i, off+int64(p.pos))
				}
				num := int(hdr[0] + i)
				e := Entry{Gen: g, Free: fld[2][0] == 'f'}
				if !e.Free {
					e.Offset = o
				}
				// §7.5.4: in a table the first entry for a number wins.
				if _, dup := sec.entries[num]; !dup {
					sec.entries[num] = e
				}
			}
		}
		o, err := p.object(0)
		if err != nil {
			return err
		}
		d, ok := o.(Dict)
		if !ok {
			return malformed("trailer is not a dictionary")
		}
		sec.trailer = d
		*total = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	// /Prev 0 (seen in real files) points at the header, not a section: it
	// is followed, fails, and the file is reconstructed.
	if v, ok := sec.trailer.Int("Prev"); ok && v >= 0 && v < f.size {
		sec.prev = v
	}
	// Hybrid-reference file (§7.5.8.4): entries of the stream at /XRefStm
	// complete this section; the table takes precedence for objects it
	// lists as in use.
	if xs, ok := sec.trailer.Int("XRefStm"); ok && xs > 0 && xs < f.size {
		hs, err := f.readXrefStream(xs, total, false)
		if err != nil {
			return nil, fmt.Errorf("/XRefStm at %d: %w", xs, err)
		}
		for k, e := range hs.entries {
			if old, ok := sec.entries[k]; !ok || old.Free {
				sec.entries[k] = e
			}
		}
	}
	return sec, nil
}

// readXrefStream reads a cross-reference stream (§7.5.8).
func (f *File) readXrefStream(off int64, total *int, usePrev bool) (*section, error) {
	obj, err := f.readIndirect(off, nil, -1, true)
	if err != nil {
		return nil, err
	}
	s, ok := obj.(*Stream)
	if !ok || (s.Dict.Name("Type") != "XRef" && s.Dict["W"] == nil) {
		return nil, malformed("no cross-reference table or stream at offset %d", off)
	}
	w, ok := s.Dict["W"].(Array)
	if !ok || len(w) < 3 {
		return nil, malformed("cross-reference stream at %d: bad /W", off)
	}
	var wid [3]int
	sum := 0
	for i := range wid {
		v, ok := toInt(w[i])
		if !ok || v < 0 || v > 8 {
			return nil, malformed("cross-reference stream at %d: bad /W", off)
		}
		wid[i] = int(v)
		sum += int(v)
	}
	if sum == 0 {
		return nil, malformed("cross-reference stream at %d: /W is all zero", off)
	}
	sizeV, _ := s.Dict.Int("Size")
	index := Array{int64(0), sizeV}
	if a, ok := s.Dict["Index"].(Array); ok {
		index = a
	}
	var zs []io.ReadCloser
	defer func() { releaseZlib(zs) }()
	rd, err := f.streamReader(s, true, &zs)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("cross-reference stream at %d: %w", off, err)
	}
	sec := &section{offset: off, trailer: s.Dict, prev: -1, entries: map[int]Entry{}}
	pos := 0
	for i := 0; i+1 < len(index); i += 2 {
		first, ok1 := toInt(index[i])
		count, ok2 := toInt(index[i+1])
		if !ok1 || !ok2 || first < 0 || count < 0 || first > 1<<31 {
			return nil, malformed("cross-reference stream at %d: bad /Index", off)
		}
		for k := int64(0); k < count; k++ {
			if pos+sum > len(data) {
				// Fewer rows than /Index promises: keep what is there.
				break
			}
			if *total++; *total > f.opts.MaxObjects {
				return nil, limit("more than %d cross-reference entries", f.opts.MaxObjects)
			}
			var v [3]int64
			for j := range 3 {
				for b := 0; b < wid[j]; b++ {
					v[j] = v[j]<<8 | int64(data[pos])
					pos++
				}
			}
			if wid[0] == 0 {
				v[0] = 1
			}
			num := int(first + k)
			if _, dup := sec.entries[num]; dup {
				continue
			}
			switch v[0] {
			case 0:
				sec.entries[num] = Entry{Free: true, Gen: int(v[2] & 0xffff)}
			case 1:
				sec.entries[num] = Entry{Offset: v[1], Gen: int(v[2] & 0xffff)}
			case 2:
				if v[1] > 0 && v[1] < 1<<31 && v[2] < 1<<31 {
					sec.entries[num] = Entry{Stream: int(v[1]), Index: int(v[2])}
				}
			}
			// Other types are references to the null object (§7.5.8.3).
		}
	}
	if usePrev {
		if v, ok := s.Dict.Int("Prev"); ok && v >= 0 && v < f.size {
			sec.prev = v
		}
	}
	return sec, nil
}

// Size returns the size of the file in bytes.
func (f *File) Size() int64 { return f.size }

// Revisions returns the revisions, oldest first. There is at least one.
func (f *File) Revisions() []*Revision { return f.revs }

// Encrypted reports whether a trailer has an /Encrypt entry.
func (f *File) Encrypted() bool { return f.encrypted }

// Repaired reports whether the cross-reference data was damaged (a broken
// or looping /Prev chain, a wrong offset) and the object table had to be
// reconstructed or corrected from a scan of the bytes. It may turn true
// after Open when a lazily read object is found at a wrong offset.
func (f *File) Repaired() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repaired
}

// EOFMarkers returns, in file order, the End-style offset (just past
// "%%EOF" and one EOL) of every %%EOF marker found by the byte scan,
// including markers inside stream data.
func (f *File) EOFMarkers() []int64 {
	sc, err := f.scan()
	if err != nil {
		return nil
	}
	return slices.Clone(sc.eofEnd)
}

// Trailer returns revision rev's trailer dictionary, or nil when rev is
// out of range.
func (f *File) Trailer(rev int) Dict {
	if rev < 0 || rev >= len(f.revs) {
		return nil
	}
	return f.revs[rev].Trailer
}

// EntryFor returns the cross-reference entry for ref.Num in force at
// revision rev (the newest entry at or before rev) and the index of the
// revision that defined it. The generation is not compared. ok is false
// when no revision up to rev defines the number.
func (f *File) EntryFor(ref Ref, rev int) (e Entry, defined int, ok bool) {
	if rev >= len(f.revs) {
		rev = len(f.revs) - 1
	}
	if f.defs != nil {
		d := f.defs[ref.Num]
		i := sort.Search(len(d), func(i int) bool { return int(d[i]) > rev }) - 1
		if i < 0 {
			return Entry{}, -1, false
		}
		return f.revs[d[i]].Entries[ref.Num], int(d[i]), true
	}
	for i := rev; i >= 0; i-- {
		if e, ok := f.revs[i].Entries[ref.Num]; ok {
			return e, i, true
		}
	}
	return Entry{}, -1, false
}

// Object returns the object ref as of revision rev. A free, missing or
// generation-mismatched object is nil with a nil error (§7.3.10). Objects
// inside object streams are supported. An error means the object's bytes
// could not be parsed or a limit was hit.
func (f *File) Object(ref Ref, rev int) (Object, error) {
	return f.load(ref, rev, true)
}

func (f *File) load(ref Ref, rev int, streams bool) (Object, error) {
	if rev < 0 || rev >= len(f.revs) {
		return nil, fmt.Errorf("%w: revision %d out of range", ErrNotFound, rev)
	}
	e, _, ok := f.EntryFor(ref, rev)
	if !ok || e.Free {
		return nil, nil
	}
	if e.Stream != 0 {
		if ref.Gen != 0 {
			return nil, nil
		}
		return f.fromObjStm(e.Stream, e.Index, ref.Num, rev)
	}
	if e.Gen != ref.Gen {
		return nil, nil
	}
	return f.readIndirect(e.Offset, &ref, rev, streams)
}

// locate returns the offset of "N G obj" for ref as of rev, correcting a
// wrong cross-reference offset from the byte scan.
func (f *File) locate(ref Ref, rev int) (int64, error) {
	e, _, ok := f.EntryFor(ref, rev)
	if !ok || e.Free || e.Gen != ref.Gen {
		return 0, fmt.Errorf("%w: object %v not in use at revision %d", ErrNotFound, ref, rev)
	}
	if e.Stream != 0 {
		return 0, fmt.Errorf("%w: object %v is inside object stream %d", ErrNotFound, ref, e.Stream)
	}
	if f.headerAt(e.Offset, ref) {
		return e.Offset, nil
	}
	if off, ok := f.scanned(ref, rev); ok {
		return off, nil
	}
	return 0, malformed("object %v is not at offset %d", ref, e.Offset)
}

func (f *File) headerAt(off int64, ref Ref) bool {
	got := Ref{-1, -1}
	_ = f.parseAt(off, 64, func(p *parser) error {
		r, err := p.objHeader()
		if err == nil {
			got = r
		}
		return err
	})
	return got == ref
}

// scanned returns the last scanned header of ref before the end of
// revision rev.
func (f *File) scanned(ref Ref, rev int) (int64, bool) {
	end := f.size
	if rev >= 0 && rev < len(f.revs) {
		end = f.revs[rev].End
	}
	sc, err := f.scan()
	if err != nil {
		return 0, false
	}
	f.scanIndexOnce.Do(func() {
		f.scanIndex = map[Ref][]int64{}
		for _, o := range sc.objs {
			f.scanIndex[o.ref] = append(f.scanIndex[o.ref], o.off)
		}
	})
	best := int64(-1)
	for _, off := range f.scanIndex[ref] {
		if off < end {
			best = off
		}
	}
	if best >= 0 {
		f.mu.Lock()
		f.repaired = true
		f.mu.Unlock()
	}
	return best, best >= 0
}

// readIndirect parses the indirect object at off. want, when not nil, is
// the expected header; on mismatch the byte scan is consulted. With
// streams false a stream's dictionary is returned (used for /Length, which
// may not itself be read as a stream, so that a self-referencing /Length
// cannot recurse).
func (f *File) readIndirect(off int64, want *Ref, rev int, streams bool) (Object, error) {
	key := cacheKey{off, streams}
	f.mu.Lock()
	if o, ok := f.cache[key]; ok {
		f.mu.Unlock()
		return o, nil
	}
	f.mu.Unlock()
	var (
		obj     Object
		dataOff int64 = -1
		hdr     Ref
	)
	err := f.parseAt(off, f.opts.MaxStreamSize, func(p *parser) error {
		var err error
		if hdr, err = p.objHeader(); err != nil {
			return err
		}
		if want != nil && hdr != *want {
			return malformed("object %v is not at offset %d", *want, off)
		}
		if obj, err = p.object(0); err != nil {
			return err
		}
		if _, ok := obj.(Dict); ok && streams {
			q, err := p.streamStart()
			if err != nil {
				return err
			}
			if q >= 0 {
				dataOff = off + int64(q)
			}
		}
		return nil
	})
	if err != nil && want != nil && errors.Is(err, ErrMalformed) {
		// Wrong offset in the cross-reference data: try the byte scan.
		if alt, ok := f.scanned(*want, rev); ok && alt != off {
			return f.readIndirect(alt, want, rev, streams)
		}
	}
	if err != nil {
		return nil, err
	}
	if dataOff >= 0 {
		s := &Stream{Dict: obj.(Dict), Offset: dataOff}
		s.Length = f.streamLength(s, rev)
		obj = s
	}
	f.mu.Lock()
	if len(f.cache) >= cacheMax {
		clear(f.cache)
	}
	f.cache[key] = obj
	f.mu.Unlock()
	return obj, nil
}

// streamLength returns /Length when the data is followed by "endstream",
// else the distance to the next "endstream" keyword (minus its EOL), as
// readers must cope with wrong /Length values.
func (f *File) streamLength(s *Stream, rev int) int64 {
	var n int64 = -1
	switch v := s.Dict["Length"].(type) {
	case int64:
		n = v
	case Ref:
		// A length inside an object stream is not followed: reading it
		// could need this very stream (a loop); the endstream search
		// below copes.
		if e, _, ok := f.EntryFor(v, rev); rev >= 0 && ok && e.Stream == 0 {
			if o, err := f.load(v, rev, false); err == nil {
				if k, ok := toInt(o); ok {
					n = k
				}
			}
		}
	}
	if n >= 0 && s.Offset+n <= f.size {
		if b, err := f.read(s.Offset+n, 32); err == nil {
			t := bytes.TrimLeft(b, "\r\n \t\f\x00")
			if bytes.HasPrefix(t, []byte("endstream")) {
				return n
			}
		}
	}
	// Search for endstream.
	const chunk = 64 << 10
	for pos := s.Offset; pos < f.size && pos-s.Offset <= f.opts.MaxStreamSize; pos += chunk - 16 {
		b, err := f.read(pos, chunk)
		if err != nil {
			break
		}
		if i := bytes.Index(b, []byte("endstream")); i >= 0 {
			end := pos + int64(i)
			// Drop the EOL that precedes endstream (§7.3.8.1).
			if end > s.Offset {
				if c, _ := f.read(end-1, 1); len(c) == 1 && c[0] == '\n' {
					end--
					if c, _ := f.read(end-1, 1); end > s.Offset && len(c) == 1 && c[0] == '\r' {
						end--
					}
				} else if len(c) == 1 && c[0] == '\r' {
					end--
				}
			}
			return end - s.Offset
		}
		if len(b) < chunk {
			break
		}
	}
	return max(min(n, f.size-s.Offset), 0)
}

// Resolve follows o while it is a Ref, as of revision rev, at most
// Options.MaxDepth times (ErrLimit beyond). Other objects are returned
// unchanged; a reference to a free or missing object resolves to nil.
func (f *File) Resolve(o Object, rev int) (Object, error) {
	for range f.opts.MaxDepth {
		r, ok := o.(Ref)
		if !ok {
			return o, nil
		}
		var err error
		if o, err = f.Object(r, rev); err != nil {
			return nil, err
		}
	}
	if _, ok := o.(Ref); ok {
		return nil, limit("reference chain longer than %d", f.opts.MaxDepth)
	}
	return o, nil
}

// Catalog returns the document catalog (§7.7.2) as of revision rev: the
// /Root of that revision's trailer, or of the newest earlier trailer that
// has one. The error wraps ErrMalformed when no /Root resolves to a
// dictionary.
func (f *File) Catalog(rev int) (Dict, error) {
	if rev < 0 || rev >= len(f.revs) {
		return nil, fmt.Errorf("%w: revision %d out of range", ErrNotFound, rev)
	}
	for i := rev; i >= 0; i-- {
		root, ok := f.revs[i].Trailer["Root"]
		if !ok {
			continue
		}
		o, err := f.Resolve(root, rev)
		if err != nil {
			return nil, err
		}
		if d, ok := o.(Dict); ok {
			return d, nil
		}
		return nil, malformed("/Root of revision %d is not a dictionary", i)
	}
	return nil, malformed("no /Root in any trailer up to revision %d", rev)
}

// Unchanged reports whether revision rev is an empty incremental update:
// its cross-reference data defines no object, it was read from the file
// (not reconstructed), and its trailer names the same /Root and /Info as
// the revision before, so that its object graph is exactly that of rev-1.
// Callers that judge each revision may skip it.
func (f *File) Unchanged(rev int) bool {
	if rev <= 0 || rev >= len(f.revs) {
		return false
	}
	cur, prev := f.revs[rev], f.revs[rev-1]
	if len(cur.Entries) > 0 || cur.XrefOffset < 0 {
		return false
	}
	for _, k := range []Name{"Root", "Info"} {
		a, aok := cur.Trailer[k].(Ref)
		b, bok := prev.Trailer[k].(Ref)
		if aok != bok || a != b || (!aok && (cur.Trailer[k] != nil || prev.Trailer[k] != nil)) {
			return false
		}
	}
	return true
}
