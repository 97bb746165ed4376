package pdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/ascii85"
	"errors"
	"fmt"
	"io"
	"sync"
)

// StreamReader returns a reader of s's data: the raw bytes when decode is
// false, else the bytes after applying its /Filter chain (§7.4):
// FlateDecode (with the PNG and TIFF predictors of §7.4.4.4),
// ASCIIHexDecode and ASCII85Decode. Any other filter yields an error
// wrapping ErrUnsupported. Reading more than Options.MaxStreamSize bytes
// yields an error wrapping ErrLimit; corrupt data an error wrapping
// ErrMalformed. The stream data of encrypted files is returned as stored.
func (f *File) StreamReader(s *Stream, decode bool) (io.Reader, error) {
	return f.streamReader(s, decode, nil)
}

// streamReader is StreamReader. With zs not nil, the FlateDecode
// decompressors come from zlibReaders and are appended to *zs: the caller
// reads the stream to the end and then gives them back with releaseZlib.
func (f *File) streamReader(s *Stream, decode bool, zs *[]io.ReadCloser) (io.Reader, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil stream", ErrNotFound)
	}
	if s.Offset < 0 || s.Length < 0 || s.Offset > f.size || s.Length > f.size-s.Offset {
		return nil, malformed("stream data [%d,+%d) outside the file", s.Offset, s.Length)
	}
	var r io.Reader
	if f.data != nil {
		// A *bytes.Reader is also an io.ByteReader, so zlib reads it
		// without a bufio.Reader of its own.
		r = bytes.NewReader(f.data[s.Offset : s.Offset+s.Length])
	} else {
		r = io.NewSectionReader(f.r, s.Offset, s.Length)
	}
	if decode {
		filters, parms := filterList(s.Dict)
		for i, name := range filters {
			var parm Dict
			if i < len(parms) {
				parm, _ = parms[i].(Dict)
			}
			var err error
			if r, err = applyFilter(r, name, parm, zs); err != nil {
				return nil, err
			}
		}
	}
	return &limitReader{r: r, left: f.opts.MaxStreamSize}, nil
}

// zlibReaders pools zlib decompressors for the package's own reads of
// cross-reference and object streams: each holds some 40 KB of tables,
// and a file written with such streams decodes several per Open.
var zlibReaders sync.Pool

// releaseZlib gives back the decompressors streamReader took from the
// pool. They must no longer be read.
func releaseZlib(zs []io.ReadCloser) {
	for _, z := range zs {
		zlibReaders.Put(z)
	}
}

// newZlib is zlib.NewReader, reusing a pooled decompressor when zs is not
// nil (Reset reads the header exactly as NewReader does, with the same
// errors).
func newZlib(r io.Reader, zs *[]io.ReadCloser) (io.ReadCloser, error) {
	if zs == nil {
		return zlib.NewReader(r)
	}
	z, _ := zlibReaders.Get().(io.ReadCloser)
	if z == nil {
		var err error
		if z, err = zlib.NewReader(r); err != nil {
			return nil, err
		}
	} else if err := z.(zlib.Resetter).Reset(r, nil); err != nil {
		zlibReaders.Put(z)
		return nil, err
	}
	*zs = append(*zs, z)
	return z, nil
}

func filterList(d Dict) ([]Name, Array) {
	var names []Name
	switch v := d["Filter"].(type) {
	case Name:
		names = []Name{v}
	case Array:
		for _, o := range v {
			if n, ok := o.(Name); ok {
				names = append(names, n)
			} else {
				names = append(names, "")
			}
		}
	}
	var parms Array
	switch v := d["DecodeParms"].(type) {
	case Dict:
		parms = Array{v}
	case Array:
		parms = v
	}
	return names, parms
}

func applyFilter(r io.Reader, name Name, parm Dict, zs *[]io.ReadCloser) (io.Reader, error) {
	switch name {
	case "FlateDecode", "Fl":
		z, err := newZlib(r, zs)
		if err != nil {
			return nil, malformed("FlateDecode: %v", err)
		}
		return predictor(&errMap{r: z}, parm)
	case "ASCIIHexDecode", "AHx":
		return &hexReader{r: bufio.NewReader(r)}, nil
	case "ASCII85Decode", "A85":
		return ascii85.NewDecoder(&a85Trim{r: bufio.NewReader(r)}), nil
	}
	return nil, fmt.Errorf("%w: stream filter /%s", ErrUnsupported, name)
}

// errMap turns decompression errors into ErrMalformed.
type errMap struct{ r io.Reader }

func (e *errMap) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) {
		var ioErr *ioError
		if !errors.As(err, &ioErr) {
			err = malformed("FlateDecode: %v", err)
		}
	}
	return n, err
}

type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe for more data: if any, the limit was exceeded.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, limit("stream decodes to more than the allowed size")
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// predictor wraps r with the inverse of the predictor of §7.4.4.4.
// Hand-written: the standard library's PNG decoder applies these row
// filters only inside image/png, not to a bare byte stream.
func predictor(r io.Reader, parm Dict) (io.Reader, error) {
	pred, _ := parm.Int("Predictor")
	if pred <= 1 {
		return r, nil
	}
	colors, cols, bpc := int64(1), int64(1), int64(8)
	if v, ok := parm.Int("Colors"); ok {
		colors = v
	}
	if v, ok := parm.Int("Columns"); ok {
		cols = v
	}
	if v, ok := parm.Int("BitsPerComponent"); ok {
		bpc = v
	}
	if colors < 1 || colors > 32 || cols < 1 || cols > 1<<20 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
		return nil, malformed("bad predictor parameters")
	}
	bpp := int((colors*bpc + 7) / 8)
	row := int((colors*bpc*cols + 7) / 8)
	switch {
	case pred == 2:
		if bpc != 8 {
			return nil, fmt.Errorf("%w: TIFF predictor with %d bits per component", ErrUnsupported, bpc)
		}
		return &predReader{r: r, row: row, bpp: bpp, tiff: true}, nil
	case pred >= 10 && pred <= 15:
		return &predReader{r: r, row: row, bpp: bpp}, nil
	}
	return nil, fmt.Errorf("%w: predictor %d", ErrUnsupported, pred)
}

type predReader struct {
	r        io.Reader
	row, bpp int
	tiff     bool
	prev     []byte
	cur      []byte
	out      []byte
}

func (p *predReader) Read(b []byte) (int, error) {
	for len(p.out) == 0 {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

func (p *predReader) next() error {
	if p.tiff {
		if p.cur == nil {
			p.cur = make([]byte, p.row)
		}
		n, err := io.ReadFull(p.r, p.cur)
		if n == 0 {
			return eofOr(err)
		}
		c := p.cur[:n]
		for i := p.bpp; i < len(c); i++ {
			c[i] += c[i-p.bpp]
		}
		p.out = c
		return nil
	}
	if p.cur == nil {
		p.cur = make([]byte, p.row+1)
		p.prev = make([]byte, p.row)
	}
	n, err := io.ReadFull(p.r, p.cur)
	if n == 0 {
		return eofOr(err)
	}
	if n < 2 {
		return io.EOF
	}
	typ, c := p.cur[0], p.cur[1:n]
	prev := p.prev
	for i := range c {
		var left, up, ul byte
		if i >= p.bpp {
			left = c[i-p.bpp]
			ul = prev[i-p.bpp]
		}
		up = prev[i]
		switch typ {
		case 0:
		case 1:
			c[i] += left
		case 2:
			c[i] += up
		case 3:
			c[i] += byte((int(left) + int(up)) / 2)
		case 4:
			c[i] += paeth(left, up, ul)
		default:
			return malformed("bad PNG predictor row type %d", typ)
		}
	}
	copy(p.prev, c)
	p.out = append(p.out[:0], c...)
	return nil
}

func eofOr(err error) error {
	if err == io.ErrUnexpectedEOF || err == nil {
		return io.EOF
	}
	return err
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// hexReader decodes ASCIIHexDecode data (§7.4.2) up to '>'. Hand-written
// because encoding/hex neither skips white space nor stops at '>', and an
// odd final digit counts as if followed by 0.
type hexReader struct {
	r    *bufio.Reader
	done bool
}

func (h *hexReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && !h.done {
		var v [2]int
		k := 0
		for k < 2 {
			c, err := h.r.ReadByte()
			if err == io.EOF || c == '>' {
				h.done = true
				break
			}
			if err != nil {
				return n, err
			}
			if isSpace(c) {
				continue
			}
			if v[k] = unhex(c); v[k] < 0 {
				return n, malformed("ASCIIHexDecode: bad digit %q", c)
			}
			k++
		}
		if k == 0 {
			break
		}
		p[n] = byte(v[0]<<4 | v[1])
		n++
	}
	if n == 0 && h.done {
		return 0, io.EOF
	}
	return n, nil
}

// a85Trim stops ASCII85 data at its "~>" end marker, which
// encoding/ascii85 does not understand.
type a85Trim struct {
	r    *bufio.Reader
	done bool
}

func (a *a85Trim) Read(p []byte) (int, error) {
	if a.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		c, err := a.r.ReadByte()
		if err != nil {
			if n == 0 {
				return 0, err
			}
			break
		}
		if c == '~' {
			a.done = true
			break
		}
		p[n] = c
		n++
	}
	if n == 0 && a.done {
		return 0, io.EOF
	}
	return n, nil
}
