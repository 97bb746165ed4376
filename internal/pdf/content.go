package pdf

import (
	"bytes"
	"errors"
)

// maxContentOperands bounds the operands collected for one operator.
const maxContentOperands = 64

// ParseContent tokenizes a content stream (ISO 32000-2 §7.8.2) and calls
// fn for every operator with its operands, in order. Inline images
// (BI ... ID data EI, §8.9.7) are reported as the single operator "BI"
// with no operands, their data skipped. Operand syntax errors stop the
// walk with an error wrapping ErrMalformed; fn returning an error stops it
// with that error. Operators with more than 64 operands get only the
// last 64. The operands slice is reused after fn returns: copy it to keep
// it.
func ParseContent(b []byte, fn func(op string, operands []Object) error) error {
	p := &parser{b: b, maxDepth: defaultMaxDepth, final: true}
	var args []Object
	for {
		p.skipSpace()
		if p.pos >= len(p.b) {
			return nil
		}
		c := p.b[p.pos]
		if isRegular(c) && !(c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9')) {
			w := p.word()
			switch string(w) {
			case "true", "false", "null":
			default:
				p.pos += len(w)
				op := string(w)
				if op == "BI" {
					p.skipInlineImage()
				}
				if err := fn(op, args); err != nil {
					return err
				}
				args = args[:0]
				continue
			}
		}
		o, err := p.object(0)
		if err != nil {
			if errors.Is(err, errShort) {
				return malformed("content stream ends inside an operand")
			}
			return err
		}
		if len(args) >= maxContentOperands {
			copy(args, args[1:])
			args = args[:len(args)-1]
		}
		args = append(args, o)
	}
}

// skipInlineImage moves past "ID data EI" of an inline image.
func (p *parser) skipInlineImage() {
	i := bytes.Index(p.b[p.pos:], []byte("ID"))
	if i < 0 {
		p.pos = len(p.b)
		return
	}
	p.pos += i + 2
	for {
		j := bytes.Index(p.b[p.pos:], []byte("EI"))
		if j < 0 {
			p.pos = len(p.b)
			return
		}
		k := p.pos + j
		p.pos = k + 2
		// EI must stand alone: white space before, white space or end after.
		if k > 0 && isSpace(p.b[k-1]) && (k+2 >= len(p.b) || isSpace(p.b[k+2])) {
			return
		}
	}
}
