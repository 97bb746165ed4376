package pdf

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them.
var (
	// ErrNotPDF: the input has no %PDF- header in its first 1024 bytes.
	ErrNotPDF = errors.New("pdf: not a PDF file")
	// ErrMalformed: the bytes do not follow the syntax of ISO 32000-2 §7.
	ErrMalformed = errors.New("pdf: malformed")
	// ErrLimit: a limit of Options (or a fixed internal limit) was exceeded.
	ErrLimit = errors.New("pdf: limit exceeded")
	// ErrUnsupported: a feature this package does not implement, such as a
	// stream filter other than FlateDecode, ASCIIHexDecode or ASCII85Decode.
	ErrUnsupported = errors.New("pdf: unsupported feature")
	// ErrNotFound: the object, revision or dictionary key asked for does
	// not exist.
	ErrNotFound = errors.New("pdf: not found")
)

// Object is a PDF object (ISO 32000-2 §7.3). Its dynamic type is one of:
// nil (null), bool, int64, float64, Name, String, Array, Dict, Ref or
// *Stream.
type Object any

// Name is a name object (§7.3.5) without its leading slash, #xx escapes
// decoded.
type Name string

// String is the decoded bytes of a literal (...) or hexadecimal <...>
// string (§7.3.4).
type String []byte

// Array is an array object (§7.3.6).
type Array []Object

// Dict is a dictionary object (§7.3.7).
type Dict map[Name]Object

// Ref is an indirect reference "Num Gen R" (§7.3.10).
type Ref struct{ Num, Gen int }

// String formats r as in a PDF file, e.g. "12 0 R".
func (r Ref) String() string { return fmt.Sprintf("%d %d R", r.Num, r.Gen) }

// Stream is a stream object (§7.3.8): its dictionary and the position of
// its data in the file. Read the data with File.StreamReader.
type Stream struct {
	Dict Dict
	// Offset is the file offset of the first data byte.
	Offset int64
	// Length is the number of data bytes: /Length resolved, or, when
	// /Length is missing or wrong, the distance to the "endstream" keyword.
	Length int64
}

// Name returns d[key] if it is a Name, else "".
func (d Dict) Name(key Name) Name {
	n, _ := d[key].(Name)
	return n
}

// Int returns d[key] if it is an integer (a real with an integral value is
// accepted too).
func (d Dict) Int(key Name) (int64, bool) { return toInt(d[key]) }

func toInt(o Object) (int64, bool) {
	switch v := o.(type) {
	case int64:
		return v, true
	case float64:
		if v == float64(int64(v)) && v < 1<<62 && v > -(1<<62) {
			return int64(v), true
		}
	}
	return 0, false
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func limit(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrLimit, fmt.Sprintf(format, args...))
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotFound, fmt.Sprintf(format, args...))
}
