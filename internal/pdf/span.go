package pdf

import (
	"bytes"
)

// ObjectSpan returns the byte span [start, end) of indirect object ref as
// of revision rev, from its "N G obj" header to just past "endobj". The
// object must be stored directly in the file (not in an object stream);
// otherwise, or when it is free or missing, the error wraps ErrNotFound. A
// missing "endobj" yields ErrMalformed.
func (f *File) ObjectSpan(ref Ref, rev int) (start, end int64, err error) {
	off, err := f.locate(ref, rev)
	if err != nil {
		return 0, 0, err
	}
	var after int64 = -1
	var isStream bool
	err = f.parseAt(off, f.opts.MaxStreamSize, func(p *parser) error {
		// Only the type of the object matters here, not its strings.
		p.skipStrings = true
		if _, err := p.objHeader(); err != nil {
			return err
		}
		o, err := p.object(0)
		if err != nil {
			return err
		}
		if _, ok := o.(Dict); ok {
			q, err := p.streamStart()
			if err != nil {
				return err
			}
			if q >= 0 {
				isStream = true
				return nil
			}
		}
		p.skipSpace()
		if p.keyword("endobj") {
			after = off + int64(p.pos)
			return nil
		}
		if p.cut(p.pos + 6) {
			return errShort
		}
		return malformed("object %v at %d: no endobj", ref, off)
	})
	if err != nil {
		return 0, 0, err
	}
	if isStream {
		o, err := f.readIndirect(off, &ref, rev, true)
		if err != nil {
			return 0, 0, err
		}
		s, ok := o.(*Stream)
		if !ok {
			return 0, 0, malformed("object %v at %d: stream expected", ref, off)
		}
		pos := s.Offset + s.Length
		b, err := f.read(pos, 64)
		if err != nil {
			return 0, 0, err
		}
		t := bytes.TrimLeft(b, "\r\n \t\f\x00")
		if !bytes.HasPrefix(t, []byte("endstream")) {
			return 0, 0, malformed("object %v: no endstream", ref)
		}
		p := &parser{b: t[9:], final: true}
		if !p.keyword("endobj") {
			return 0, 0, malformed("object %v: no endobj after endstream", ref)
		}
		after = pos + int64(len(b)-len(t)) + 9 + int64(p.pos)
	}
	return off, after, nil
}

// HeaderOffset returns the offset of the "N G obj" header of indirect
// object ref as of revision rev: the start ObjectSpan would return, found
// without parsing the object, so where ObjectSpan succeeds the two agree.
// The error wraps ErrNotFound or ErrMalformed as for ObjectSpan.
func (f *File) HeaderOffset(ref Ref, rev int) (int64, error) {
	return f.locate(ref, rev)
}

// ValueSpan returns the byte span [start, end) of the value of /key in the
// dictionary of indirect object ref (a dictionary or a stream's
// dictionary) as of revision rev: for a signature's /Contents, exactly the
// "<...>" string including its delimiters. When the key occurs more than
// once the last occurrence is returned, matching what Object returns. The
// error wraps ErrNotFound when the object is not stored directly in the
// file or has no such key, ErrMalformed when it is not a dictionary.
func (f *File) ValueSpan(ref Ref, rev int, key Name) (start, end int64, err error) {
	off, err := f.locate(ref, rev)
	if err != nil {
		return 0, 0, err
	}
	start, end = -1, -1
	err = f.parseAt(off, f.opts.MaxStreamSize, func(p *parser) error {
		start, end = -1, -1
		// Only the positions of the values matter, not the values.
		p.skipStrings = true
		if _, err := p.objHeader(); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos+2 > len(p.b) {
			return errShort
		}
		if p.b[p.pos] != '<' || p.b[p.pos+1] != '<' {
			return malformed("object %v is not a dictionary", ref)
		}
		p.pos += 2
		for {
			k, done, err := p.dictKey()
			if err != nil {
				return err
			}
			if done {
				return nil
			}
			p.skipSpace()
			s := p.pos
			if _, err := p.object(1); err != nil {
				return err
			}
			if k == key {
				start, end = off+int64(s), off+int64(p.pos)
			}
		}
	})
	if err != nil {
		return 0, 0, err
	}
	if start < 0 {
		return 0, 0, notFound("object %v has no /%s", ref, key)
	}
	return start, end, nil
}

// ReadAt reads the file's bytes at off, as the io.ReaderAt it was opened
// with (for byte-level comparisons of objects located with ObjectSpan).
func (f *File) ReadAt(p []byte, off int64) (int, error) { return f.r.ReadAt(p, off) }
