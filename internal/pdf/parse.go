package pdf

import (
	"bytes"
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
	if end := bytes.IndexByte(p.b[p.pos:], '>'); end >= 0 {
		seg := p.b[p.pos : p.pos+end]
		if len(seg)%2 == 0 {
			out := make([]byte, len(seg)/2)
			if _, err := hex.Decode(out, seg); err == nil {
				p.pos += end + 1
				return String(out), nil
			}
		}
	}
	out := []byte{}
	hi := -1
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		p.pos++
		if c == '>' {
			if hi >= 0 {
				out = append(out, byte(hi<<4))
			}
			return String(out), nil
		}
		if isSpace(c) {
			continue
		}
		v := unhex(c)
		if v < 0 {
			return nil, malformed("bad hex digit %q in string at offset %d", c, p.pos-1)
		}
		if hi < 0 {
			hi = v
		} else {
			out = append(out, byte(hi<<4|v))
			hi = -1
		}
	}
	return nil, errShort
}

func (p *parser) array(depth int) (Object, error) {
	a := Array{}
	for {
		p.skipSpace()
		if p.pos >= len(p.b) {
			return nil, errShort
		}
		if p.b[p.pos] == ']' {
			p.pos++
			return a, nil
		}
		o, err := p.object(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, o)
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
