package signature

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// This file serialises PDF objects for incremental updates. internal/pdf
// only reads, and digitorus/pdfsign writes through digitorus/pdf's object
// model (which buffers the file and panics on bad input), so the few
// objects a signature changes are written here (ISO 32000-2 §7.3).

// swMaxDepth bounds the nesting of objects we re-serialise.
const swMaxDepth = 64

// swRaw is text written as is (for example a fixed-width /ByteRange slot).
type swRaw string

// swText is a text string (§7.9.2.2): PDFDocEncoding-compatible ASCII is
// written as is, anything else as UTF-16BE with a byte order mark.
type swText string

func swWrite(b *bytes.Buffer, o pdf.Object, depth int) error {
	if depth > swMaxDepth {
		return fmt.Errorf("%w: object nested deeper than %d", ErrUnsupportedDocument, swMaxDepth)
	}
	switch v := o.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: non-finite number", ErrUnsupportedDocument)
		}
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case pdf.Name:
		swName(b, v)
	case pdf.String:
		swHex(b, v)
	case swText:
		swHex(b, swEncodeText(string(v)))
	case swRaw:
		b.WriteString(string(v))
	case pdf.Ref:
		fmt.Fprintf(b, "%d %d R", v.Num, v.Gen)
	case pdf.Array:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			if err := swWrite(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case pdf.Dict:
		b.WriteString("<<")
		keys := make([]pdf.Name, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			swName(b, k)
			b.WriteByte(' ')
			if err := swWrite(b, v[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteString(">>")
	default:
		// *pdf.Stream cannot appear inside another object (§7.3.8).
		return fmt.Errorf("%w: cannot write object of type %T", ErrUnsupportedDocument, o)
	}
	return nil
}

// swName writes /Name with #xx escapes for bytes outside the regular
// printable range (§7.3.5).
func swName(b *bytes.Buffer, n pdf.Name) {
	b.WriteByte('/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < '!' || c > '~' || bytes.IndexByte([]byte("()<>[]{}/%#"), c) >= 0 {
			fmt.Fprintf(b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
}

func swHex(b *bytes.Buffer, s []byte) {
	const digits = "0123456789ABCDEF"
	b.WriteByte('<')
	for _, c := range s {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	b.WriteByte('>')
}

// swEncodeText encodes a text string: bytes as they are when every rune is
// printable ASCII, else UTF-16BE with BOM (§7.9.2.2.1).
func swEncodeText(s string) []byte {
	ascii := utf8.ValidString(s)
	for i := 0; ascii && i < len(s); i++ {
		ascii = s[i] >= 0x20 && s[i] < 0x7f || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'
	}
	if ascii {
		return []byte(s)
	}
	out := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

// swDate formats t as a PDF date (§7.9.4), keeping t's UTC offset.
func swDate(t time.Time) string {
	s := t.Format("D:20060102150405")
	_, off := t.Zone()
	if off == 0 {
		return s + "Z"
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d'%02d'", s, sign, off/3600, off%3600/60)
}

// swCopyDict returns a shallow copy: internal/pdf shares its objects with
// a cache and they must not be modified.
func swCopyDict(d pdf.Dict) pdf.Dict {
	c := make(pdf.Dict, len(d)+2)
	for k, v := range d {
		c[k] = v
	}
	return c
}
