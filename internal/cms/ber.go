package cms

import (
	"fmt"
)

// The BER to DER conversion is hand-written: neither encoding/asn1 nor
// cryptobyte reads indefinite lengths or constructed strings, and the
// standard libraries offer no converter. It normalises exactly what BER
// allows beyond DER in the structure (X.690 §8.1.3 long/indefinite lengths,
// §8.7.3 constructed strings, §8.1.2.4 tag encodings); it does not re-sort
// SET OF values, because the signed attributes must be verified as received.

// maxDepth bounds the nesting of BER elements; real CMS nests about 15 deep.
const maxDepth = 64

// universal string types that BER may encode in constructed form (X.690 §8.7,
// §8.23). BIT STRING (3) is handled separately: it is refused in constructed
// form, since no signer in practice emits it and merging segments needs
// unused-bit bookkeeping.
var constructedStringTags = map[int]bool{
	4: true, 12: true, 18: true, 19: true, 20: true, 21: true, 22: true,
	25: true, 26: true, 27: true, 28: true, 30: true,
}

// berToDER converts the first BER element of b to DER and returns it with
// the number of input bytes it occupied.
func berToDER(b []byte) ([]byte, int, error) {
	e, n, err := convertElement(b, 0)
	if err != nil {
		return nil, 0, err
	}
	return e.appendDER(nil), n, nil
}

// derLen returns the length of the first element of b when it is already
// in the form berToDER produces (definite, minimal lengths; minimal tags;
// primitive strings), so that the conversion would return exactly those
// bytes. Nearly every signer writes DER: this walk costs no allocation,
// where the conversion copies every level of the tree.
func derLen(b []byte, depth int) (int, bool) {
	if depth > maxDepth {
		return 0, false
	}
	class, constructed, tag, length, n, err := readHeader(b)
	if err != nil || length < 0 {
		return 0, false
	}
	idLen := 1
	if b[0]&0x1f == 0x1f {
		if tag < 0x1f {
			return 0, false // a low tag number in the high-tag form
		}
		for b[idLen]&0x80 != 0 {
			idLen++
		}
		idLen++
	}
	if l := b[idLen]; l >= 0x80 && (b[idLen+1] == 0 || length < 0x80) {
		return 0, false // a length in more octets than needed
	}
	if !constructed {
		return n + length, true
	}
	if class == 0 && (tag == 3 || tag == 0 || constructedStringTags[tag]) {
		return 0, false // converted or refused by berToDER
	}
	for pos, end := n, n+length; pos < end; {
		if b[pos]&0xdf == 0 {
			return 0, false // universal tag 0 (end-of-contents) inside
		}
		cn, ok := derLen(b[pos:end], depth+1)
		if !ok {
			return 0, false
		}
		pos += cn
	}
	return n + length, true
}

type berElement struct {
	class       byte
	constructed bool
	tag         int
	content     []byte // DER content octets
}

func (e *berElement) appendDER(dst []byte) []byte {
	dst = appendIdentifier(dst, e.class, e.constructed, e.tag)
	dst = appendLength(dst, len(e.content))
	return append(dst, e.content...)
}

func appendIdentifier(dst []byte, class byte, constructed bool, tag int) []byte {
	b0 := class << 6
	if constructed {
		b0 |= 0x20
	}
	if tag < 31 {
		return append(dst, b0|byte(tag))
	}
	dst = append(dst, b0|0x1f)
	var tmp [5]byte
	i := len(tmp)
	for t := tag; ; t >>= 7 {
		i--
		tmp[i] = byte(t & 0x7f)
		if i != len(tmp)-1 {
			tmp[i] |= 0x80
		}
		if t < 0x80 {
			break
		}
	}
	return append(dst, tmp[i:]...)
}

func appendLength(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	var tmp [8]byte
	i := len(tmp)
	for v := n; v > 0; v >>= 8 {
		i--
		tmp[i] = byte(v)
	}
	dst = append(dst, 0x80|byte(len(tmp)-i))
	return append(dst, tmp[i:]...)
}

// readHeader reads identifier and length octets. length is -1 for the
// indefinite form.
func readHeader(b []byte) (class byte, constructed bool, tag int, length int, n int, err error) {
	if len(b) < 2 {
		return 0, false, 0, 0, 0, fmt.Errorf("%w: truncated element header", ErrMalformed)
	}
	b0 := b[0]
	class = b0 >> 6
	constructed = b0&0x20 != 0
	tag = int(b0 & 0x1f)
	n = 1
	if tag == 0x1f {
		tag = 0
		for i := 0; ; i++ {
			if n >= len(b) {
				return 0, false, 0, 0, 0, fmt.Errorf("%w: truncated tag", ErrMalformed)
			}
			c := b[n]
			n++
			if i == 0 && c == 0x80 {
				return 0, false, 0, 0, 0, fmt.Errorf("%w: tag number with leading zero", ErrMalformed)
			}
			if i >= 4 {
				return 0, false, 0, 0, 0, fmt.Errorf("%w: tag number too large", ErrMalformed)
			}
			tag = tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if n >= len(b) {
		return 0, false, 0, 0, 0, fmt.Errorf("%w: truncated length", ErrMalformed)
	}
	l := b[n]
	n++
	switch {
	case l < 0x80:
		length = int(l)
	case l == 0x80:
		if !constructed {
			return 0, false, 0, 0, 0, fmt.Errorf("%w: indefinite length on a primitive element", ErrMalformed)
		}
		length = -1
	case l == 0xff:
		return 0, false, 0, 0, 0, fmt.Errorf("%w: reserved length octet 0xff", ErrMalformed)
	default:
		k := int(l & 0x7f)
		if k > 4 || n+k > len(b) {
			return 0, false, 0, 0, 0, fmt.Errorf("%w: length field too long or truncated", ErrMalformed)
		}
		for _, c := range b[n : n+k] {
			length = length<<8 | int(c)
		}
		n += k
	}
	if length > len(b)-n {
		return 0, false, 0, 0, 0, fmt.Errorf("%w: element length %d exceeds the %d bytes available", ErrMalformed, length, len(b)-n)
	}
	return class, constructed, tag, length, n, nil
}

func convertElement(b []byte, depth int) (*berElement, int, error) {
	if depth > maxDepth {
		return nil, 0, fmt.Errorf("%w: nesting deeper than %d", ErrMalformed, maxDepth)
	}
	class, constructed, tag, length, n, err := readHeader(b)
	if err != nil {
		return nil, 0, err
	}
	e := &berElement{class: class, constructed: constructed, tag: tag}
	if !constructed {
		e.content = b[n : n+length]
		return e, n + length, nil
	}
	if class == 0 && tag == 3 {
		return nil, 0, fmt.Errorf("%w: constructed BIT STRING", ErrUnsupported)
	}
	flatten := class == 0 && constructedStringTags[tag]
	var body []byte
	end := len(b)
	if length >= 0 {
		end = n + length
	}
	pos := n
	for {
		if length >= 0 && pos == end {
			break
		}
		if length < 0 {
			if pos+2 <= len(b) && b[pos] == 0 && b[pos+1] == 0 {
				pos += 2
				break
			}
			if pos >= len(b) {
				return nil, 0, fmt.Errorf("%w: missing end-of-contents", ErrMalformed)
			}
		}
		child, cn, err := convertElement(b[pos:end], depth+1)
		if err != nil {
			return nil, 0, err
		}
		if child.class == 0 && child.tag == 0 {
			return nil, 0, fmt.Errorf("%w: unexpected end-of-contents", ErrMalformed)
		}
		pos += cn
		if flatten {
			if child.constructed || child.class != 0 || child.tag != tag {
				return nil, 0, fmt.Errorf("%w: constructed string segment of another type", ErrMalformed)
			}
			body = append(body, child.content...)
		} else {
			body = child.appendDER(body)
		}
	}
	if flatten {
		e.constructed = false
	}
	e.content = body
	return e, pos, nil
}
