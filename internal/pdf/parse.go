package pdf

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
)

// The tokenizer and object parser below work on an in-memory byte slice: a
// window of the file around one indirect object, or a decoded object stream.
// errShort means the window ended inside the object; the caller may retry
// with a larger window.

var errShort = errors.New("pdf: object runs past the end of the buffer")

const defaultMaxDepth = 64

type parser struct {
	b        []byte
	pos      int
	maxDepth int
	// final: the buffer ends where the input ends, so a token touching
	// the end is complete.
	final bool
	// skipStrings: the caller wants only the syntax and positions (spans),
	// not the values, so hex strings are checked but not decoded and
	// come back as a nil String. Errors are the same as when decoding.
	skipStrings bool
	// stack holds the elements of the arrays being parsed (see array).
	stack []Object
}

// cut reports whether a token ending at end may continue past the buffer.
func (p *parser) cut(end int) bool { return !p.final && end >= len(p.b) }

func isSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isRegular(c byte) bool { return !isSpace(c) && !isDelim(c) }

// skipSpace skips white space and comments (§7.2.3, §7.2.4).
func (p *parser) skipSpace() {
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		if isSpace(c) {
			p.pos++
			continue
		}
		if c == '%' {
			for p.pos < len(p.b) && p.b[p.pos] != '\n' && p.b[p.pos] != '\r' {
				p.pos++
			}
			continue
		}
		return
	}
}

// word returns the run of regular characters at pos, without consuming it.
func (p *parser) word() []byte {
	e := p.pos
	for e < len(p.b) && isRegular(p.b[e]) {
		e++
	}
	return p.b[p.pos:e]
}

// keyword consumes kw if it is the next token.
func (p *parser) keyword(kw string) bool {
	p.skipSpace()
	if string(p.word()) == kw {
		p.pos += len(kw)
		return true
	}
	return false
}

// ParseObject parses one direct object at the start of b (leading white
// space and comments are skipped; bytes after the object are ignored).
// References "N G R" are returned as Ref values, unresolved. The keyword
// "stream" is not handled: a stream's dictionary is returned as a Dict.
// Nesting deeper than 64 levels yields an error wrapping ErrLimit; any
// other syntax error wraps ErrMalformed.
func ParseObject(b []byte) (Object, error) {
	p := &parser{b: b, maxDepth: defaultMaxDepth, final: true}
	o, err := p.object(0)
	if errors.Is(err, errShort) {
		return nil, malformed("unexpected end of input at offset %d", p.pos)
	}
	return o, err
}

func (p *parser) object(depth int) (Object, error) {
	if depth > p.maxDepth {
		return nil, limit("objects nested deeper than %d levels", p.maxDepth)
	}
	p.skipSpace()
	if p.pos >= len(p.b) {
		return nil, errShort
	}
	c := p.b[p.pos]
	switch c {
	case '/':
		p.pos++
		return p.name()
	case '(':
		p.pos++
		return p.literal()
	case '<':
		if p.pos+1 >= len(p.b) {
			return nil, errShort
		}
		if p.b[p.pos+1] == '<' {
			p.pos += 2
			return p.dict(depth)
		}
		p.pos++
		return p.hex()
	case '[':
		p.pos++
		return p.array(depth)
	case ')', '>', ']', '}', '{':
		return nil, malformed("unexpected %q at offset %d", c, p.pos)
	}
	w := p.word()
	if len(w) == 0 {
		return nil, malformed("unexpected byte %q at offset %d", c, p.pos)
	}
	if p.cut(p.pos + len(w)) {
		// A token touching the end of the buffer may be cut short.
		return nil, errShort
	}
	switch string(w) {
	case "true":
		p.pos += 4
		return true, nil
	case "false":
		p.pos += 5
		return false, nil
	case "null":
		p.pos += 4
		return nil, nil
	}
	if c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9') {
		return p.number(w)
	}
	return nil, malformed("unexpected keyword %q at offset %d", truncate(w), p.pos)
}

func truncate(w []byte) string {
	if len(w) > 32 {
		return string(w[:32]) + "..."
	}
	return string(w)
}

func (p *parser) number(w []byte) (Object, error) {
	start := p.pos
	p.pos += len(w)
	if i, err := strconv.ParseInt(string(w), 10, 64); err == nil {
		// Look ahead for "G R" making this a reference.
		save := p.pos
		p.skipSpace()
		g := p.word()
		if len(g) > 0 && isDigits(g) && !p.cut(p.pos+len(g)) {
			p.pos += len(g)
			p.skipSpace()
			r := p.word()
			if string(r) == "R" {
				gen, gerr := strconv.Atoi(string(g))
				if gerr == nil && i >= 0 && i <= 1<<31 && gen <= 65535 {
					p.pos++
					return Ref{Num: int(i), Gen: gen}, nil
				}
			}
			if p.cut(p.pos + len(r)) {
				p.pos = save
				return nil, errShort
			}
		} else if p.cut(p.pos + len(g)) {
			p.pos = save
			return nil, errShort
		}
		p.pos = save
		return i, nil
	}
	// Reals (§7.3.3): no exponent form; strconv accepts a superset, so
	// check the characters first.
	ok := len(w) > 0
	dots := 0
	for k, ch := range w {
		switch {
		case ch >= '0' && ch <= '9':
		case ch == '.':
			dots++
		case (ch == '+' || ch == '-') && k == 0:
		default:
			ok = false
		}
	}
	if ok && dots <= 1 {
		if f, err := strconv.ParseFloat(string(w), 64); err == nil {
			return f, nil
		}
		if isDigits(bytes.TrimLeft(w, "+-")) {
			// Integer too large for int64: keep it as a real.
			f, _ := strconv.ParseFloat(string(w), 64)
			return f, nil
		}
	}
	// Malformed numbers such as "-1.#INF" or "0.0.1" occur in real files
	// written by buggy producers; like common viewers, read them as 0
	// rather than losing the whole object.
	_ = start
	return float64(0), nil
}

func isDigits(w []byte) bool {
	if len(w) == 0 {
		return false
	}
	for _, c := range w {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func (p *parser) name() (Object, error) {
	w := p.word()
	if p.cut(p.pos + len(w)) {
		return nil, errShort
	}
	p.pos += len(w)
	if bytes.IndexByte(w, '#') < 0 {
		// A map lookup with a converted key does not allocate; a new
		// Name does, and names are most of a parse's allocations.
		if n, ok := commonNames[string(w)]; ok {
			return n, nil
		}
		return Name(w), nil
	}
	out := make([]byte, 0, len(w))
	for i := 0; i < len(w); i++ {
		if w[i] == '#' && i+2 < len(w) && unhex(w[i+1]) >= 0 && unhex(w[i+2]) >= 0 {
			out = append(out, byte(unhex(w[i+1])<<4|unhex(w[i+2])))
			i += 2
			continue
		}
		out = append(out, w[i])
	}
	return Name(out), nil
}

// commonNames interns the names found most in signed PDFs (dictionary keys
// and the usual values), so that parsing them does not allocate. It is
// never modified after initialisation.
var commonNames = func() map[string]Name {
	m := map[string]Name{}
	for _, n := range []Name{
		"A", "AP", "AcroForm", "Action", "Adobe.PPKLite", "Annot", "Annots",
		"AS", "Ascent", "Author", "BBox", "BaseFont", "BitsPerComponent",
		"Border", "BS", "ByteRange", "C", "CA", "CapHeight", "Catalog", "Cert",
		"Certs", "CIDSystemInfo", "Colors", "ColorSpace", "Columns",
		"ContactInfo", "Contents", "Count", "CreationDate", "Creator",
		"CRLs", "CropBox", "CS", "D", "DA", "DecodeParms", "Descent",
		"DeviceGray", "DeviceRGB", "DocMDP", "DocTimeStamp", "DR", "DSS",
		"ETSI.CAdES.detached", "ETSI.RFC3161", "Encoding", "Encrypt",
		"ExtGState", "Extensions", "F", "Ff", "FT", "FieldMDP", "Fields",
		"Filter", "First", "FirstChar", "FlateDecode", "Flags", "Font",
		"FontBBox", "FontDescriptor", "FontFile2", "FontName", "Form",
		"FormType", "Group", "H", "Height", "Helv", "I", "ID", "Image",
		"ImageB", "ImageC", "ImageI", "Index", "Info", "ItalicAngle", "K",
		"Kids", "Lang", "LastChar", "Length", "Length1", "Link", "Location",
		"Lock", "M", "MarkInfo", "Marked", "Matrix", "MediaBox", "Metadata",
		"ModDate", "N", "Name", "Names", "O", "OCSPs", "ObjStm", "OpenAction",
		"P", "PDF", "Page", "Pages", "Parent", "Perms", "Pg", "Predictor",
		"Prev", "ProcSet", "Producer", "Prop_Build", "Q", "R", "Reason",
		"Rect", "Reference", "Resources", "Root", "Rotate", "S", "Sig",
		"SigFlags", "Size", "StemV", "StructElem", "StructParent",
		"StructParents", "StructTreeRoot", "SubFilter", "Subtype", "T",
		"Tabs", "Text", "Title", "TransformMethod", "TransformParams",
		"Transparency", "TrueType", "Type", "Type0", "Type1", "V", "VRI", "W",
		"Widget", "Width", "Widths", "WinAnsiEncoding", "XML", "XObject",
		"XRef", "XRefStm", "ZaDb", "adbe.pkcs7.detached", "adbe.pkcs7.sha1",
		"adbe.x509.rsa_sha1",
	} {
		m[string(n)] = n
	}
	return m
}()

func (p *parser) literal() (Object, error) {
	out := []byte{}
	nest := 1
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		p.pos++
		switch c {
		case '(':
			nest++
		case ')':
			nest--
			if nest == 0 {
				return String(out), nil
			}
		case '\r':
			// An end-of-line in a literal string is read as \n (§7.3.4.2).
			if p.pos < len(p.b) && p.b[p.pos] == '\n' {
				p.pos++
			}
			c = '\n'
		case '\\':
			if p.pos >= len(p.b) {
				return nil, errShort
			}
			e := p.b[p.pos]
			p.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if p.pos < len(p.b) && p.b[p.pos] == '\n' {
					p.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '7'; k++ {
						v = v*8 + int(p.b[p.pos]-'0')
						p.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return nil, errShort
}

func (p *parser) hex() (Object, error) {
	// Signature /Contents are long hex strings: find the end first, then
	// decode in one go when the string is plain hex digits (the common
	// case), else digit by digit.
	end := bytes.IndexByte(p.b[p.pos:], '>')
	if end >= 0 && p.skipStrings && allHexOrSpace(p.b[p.pos:p.pos+end]) {
		p.pos += end + 1
		return String(nil), nil
	}
	if end >= 0 && end%2 == 0 && !p.skipStrings {
		out := make([]byte, end/2)
		if decodeHex(out, p.b[p.pos:p.pos+end]) {
			p.pos += end + 1
			return String(out), nil
		}
	}
	// Digit by digit. Without a '>' in the buffer the result can only be
	// errShort or a bad digit, and when skipping strings it is dropped:
	// then only check the digits, without building the value, as a
	// window that ends inside a long /Contents would otherwise decode it
	// once per retry.
	decode := end >= 0 && !p.skipStrings
	var out []byte
	if decode {
		out = make([]byte, 0, end/2+1)
	}
	hi := -1
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		p.pos++
		if c == '>' {
			if !decode {
				return String(nil), nil
			}
			if hi >= 0 {
				out = append(out, byte(hi<<4))
			}
			return String(out), nil
		}
		v := hexValue[c]
		if v < 0 {
			if isSpace(c) {
				continue
			}
			return nil, malformed("bad hex digit %q in string at offset %d", c, p.pos-1)
		}
		if hi < 0 {
			hi = int(v)
		} else {
			if decode {
				out = append(out, byte(hi<<4|int(v)))
			}
			hi = -1
		}
	}
	return nil, errShort
}

// hexValue maps a byte to its value as a hex digit, or -1.
var hexValue = func() (t [256]int8) {
	for c := range t {
		t[c] = int8(unhex(byte(c)))
	}
	return t
}()

// hexOrSpace marks the bytes allowed inside a hex string.
var hexOrSpace = func() (t [256]bool) {
	for c := range t {
		t[c] = unhex(byte(c)) >= 0 || isSpace(byte(c))
	}
	return t
}()

// zeroDigits is "00000000" read as a little-endian word. A signature's
// /Contents is a placeholder reserved larger than the CMS it receives, and
// the rest is zero padding: usually most of the string. Skipping it eight
// digits at a time makes it nearly free.
const zeroDigits = 0x3030303030303030

// decodeHex decodes the hex digits src (an even number) into dst, which
// must be zeroed and len(src)/2 long, and reports whether all were hex
// digits. Runs of '0' are skipped (dst is already zero there); the rest
// goes to encoding/hex in one call per run.
func decodeHex(dst, src []byte) bool {
	for i := 0; i < len(src); {
		for i+8 <= len(src) && binary.LittleEndian.Uint64(src[i:]) == zeroDigits {
			i += 8
		}
		j := i
		for j+8 <= len(src) && binary.LittleEndian.Uint64(src[j:]) != zeroDigits {
			j += 8
		}
		if j+8 > len(src) {
			j = len(src)
		}
		if _, err := hex.Decode(dst[i/2:j/2], src[i:j]); err != nil {
			return false
		}
		i = j
	}
	return true
}

// allHexOrSpace reports whether b holds only hex digits and white space:
// one table lookup a byte (runs of '0' eight at a time, see zeroDigits),
// for the spans, which check a /Contents string kilobytes long without
// decoding it.
func allHexOrSpace(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != zeroDigits {
			for _, c := range b[:8] {
				if !hexOrSpace[c] {
					return false
				}
			}
		}
		b = b[8:]
	}
	for _, c := range b {
		if !hexOrSpace[c] {
			return false
		}
	}
	return true
}

func (p *parser) array(depth int) (Object, error) {
	// The elements go on p.stack, shared by nested arrays (each pops what
	// it pushed), and are copied into an Array of the exact size at the
	// end: one allocation per array rather than one per doubling.
	base := len(p.stack)
	defer func() {
		clear(p.stack[base:]) // do not keep objects alive
		p.stack = p.stack[:base]
	}()
	for {
		p.skipSpace()
		if p.pos >= len(p.b) {
			return nil, errShort
		}
		if p.b[p.pos] == ']' {
			p.pos++
			return append(Array{}, p.stack[base:]...), nil
		}
		o, err := p.object(depth + 1)
		if err != nil {
			return nil, err
		}
		p.stack = append(p.stack, o)
	}
}

func (p *parser) dict(depth int) (Object, error) {
	d := Dict{}
	for {
		key, done, err := p.dictKey()
		if err != nil {
			return nil, err
		}
		if done {
			return d, nil
		}
		o, err := p.object(depth + 1)
		if err != nil {
			return nil, err
		}
		// A null value is the same as an absent entry (§7.3.7).
		if o != nil {
			d[key] = o
		} else {
			delete(d, key)
		}
	}
}

// dictKey reads the next key of a dictionary, or the closing ">>" (done).
func (p *parser) dictKey() (key Name, done bool, err error) {
	p.skipSpace()
	if p.pos+1 >= len(p.b) {
		return "", false, errShort
	}
	if p.b[p.pos] == '>' && p.b[p.pos+1] == '>' {
		p.pos += 2
		return "", true, nil
	}
	if p.b[p.pos] != '/' {
		return "", false, malformed("dictionary key is not a name at offset %d", p.pos)
	}
	p.pos++
	k, err := p.name()
	if err != nil {
		return "", false, err
	}
	return k.(Name), false, nil
}

// objHeader parses "N G obj" at pos.
func (p *parser) objHeader() (Ref, error) {
	p.skipSpace()
	var v [2]int
	for k := range 2 {
		w := p.word()
		if p.pos+len(w) >= len(p.b) {
			return Ref{}, errShort
		}
		if !isDigits(w) || len(w) > 10 {
			return Ref{}, malformed("no object header at offset %d", p.pos)
		}
		n, _ := strconv.Atoi(string(w))
		v[k] = n
		p.pos += len(w)
		p.skipSpace()
	}
	if !p.keyword("obj") {
		if p.pos+3 >= len(p.b) {
			return Ref{}, errShort
		}
		return Ref{}, malformed("no object header at offset %d", p.pos)
	}
	return Ref{Num: v[0], Gen: v[1]}, nil
}

// streamStart checks for the "stream" keyword after a dictionary and
// returns the position of the first data byte, or -1.
func (p *parser) streamStart() (int, error) {
	p.skipSpace()
	if p.pos+7 > len(p.b) {
		return -1, errShort
	}
	if !bytes.HasPrefix(p.b[p.pos:], []byte("stream")) {
		return -1, nil
	}
	q := p.pos + 6
	if q >= len(p.b) {
		return -1, errShort
	}
	// The keyword is followed by CRLF or LF (§7.3.8.1); a lone CR is
	// accepted as real files contain it.
	switch p.b[q] {
	case '\r':
		q++
		if q >= len(p.b) {
			return -1, errShort
		}
		if p.b[q] == '\n' {
			q++
		}
	case '\n':
		q++
	case ' ', '\t':
		// Tolerated: spaces before the EOL.
		for q < len(p.b) && (p.b[q] == ' ' || p.b[q] == '\t') {
			q++
		}
		if q < len(p.b) && p.b[q] == '\r' {
			q++
		}
		if q < len(p.b) && p.b[q] == '\n' {
			q++
		}
	default:
		return -1, nil
	}
	return q, nil
}
