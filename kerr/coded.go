package kerr

import (
	"errors"
	"fmt"
	"strings"
)

// Param is a named parameter of a coded message: the value shown in the
// {Name} placeholder of the message's text. A Param with a Code of its
// own is a word the catalog translates too (a case state, an event);
// Value is then its English text.
type Param struct {
	Name  string
	Value string
	Code  string // optional: the catalog code of Value's translation
}

// P returns the parameter name with value v, formatted as by fmt.Sprint.
func P(name string, v any) Param { return Param{Name: name, Value: fmt.Sprint(v)} }

// PC returns the parameter name whose value is the catalog word code,
// with English text en.
func PC(name, code, en string) Param { return Param{Name: name, Value: en, Code: code} }

// Coded is a refusal with a stable message code, such as "upload.empty",
// and named parameters, so that it can be shown in the user's language
// (package kerr/kmsg holds the catalog). It wraps the *Error whose Msg is
// the English text; find it with errors.As through every layer.
type Coded struct {
	// Code names the message in the catalog; stable across releases.
	Code string
	// Params fill the placeholders of the message text, in order.
	Params []Param
	// Err is the *Error carrying the kind, the operation and the English
	// text.
	Err *Error
}

// Error returns the English text of the wrapped *Error.
func (c *Coded) Error() string { return c.Err.Error() }

// Unwrap returns the wrapped *Error.
func (c *Coded) Unwrap() error { return c.Err }

// M returns a refusal of kind k for operation op with the stable message
// code and the English text en, whose {name} placeholders are filled from
// params. The text says once what was wrong and what to do; it is the
// Msg of the *Error returned inside the *Coded.
//
//	return kerr.M(kerr.Invalid, op, "upload.empty", "{file} is empty: choose the file again", kerr.P("file", name))
func M(k Kind, op, code, en string, params ...Param) error {
	return &Coded{Code: code, Params: params, Err: &Error{Kind: k, Op: op, Msg: Expand(en, params, nil)}}
}

// MW is M with a cause that stays reachable with errors.Is and errors.As
// (a sentinel such as account.ErrPasswordLength) but whose text is not
// repeated in Error(): the coded text says it all, once.
func MW(k Kind, op, code, en string, cause error, params ...Param) error {
	c := M(k, op, code, en, params...).(*Coded)
	if cause != nil {
		c.Err.Err = silent{cause}
	}
	return c
}

// silent keeps a cause in the chain without its text.
type silent struct{ err error }

func (s silent) Error() string { return "" }
func (s silent) Unwrap() error { return s.err }

// CodeOf returns the outermost *Coded in err's chain, or nil.
func CodeOf(err error) *Coded {
	var c *Coded
	if errors.As(err, &c) {
		return c
	}
	return nil
}

// Expand fills the {name} placeholders of text with the values of
// params. word, when not nil, gives the text of a parameter that has a
// Code (its translation); a placeholder with no parameter is left as is.
func Expand(text string, params []Param, word func(Param) string) string {
	if !strings.Contains(text, "{") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			break
		}
		name := text[i+1 : i+j]
		b.WriteString(text[:i])
		v, ok := "", false
		for _, p := range params {
			if p.Name == name {
				v, ok = p.Value, true
				if p.Code != "" && word != nil {
					v = word(p)
				}
				break
			}
		}
		if ok {
			b.WriteString(v)
		} else {
			b.WriteString(text[i : i+j+1])
		}
		text = text[i+j+1:]
	}
	b.WriteString(text)
	return b.String()
}

// Placeholders returns the names of the {name} placeholders in text, in
// order of appearance (a name used twice appears twice).
func Placeholders(text string) []string {
	var out []string
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, text[i+1:i+j])
		text = text[i+j+1:]
	}
}

// Note is a coded statement that is not an error, such as a reason in a
// verification verdict: a stable message code, named parameters, and the
// English text. A Note without a Code is plain English text.
type Note struct {
	Code   string
	Params []Param
	Text   string // English, with the parameters filled in
}

// N returns the note with code, English text en ({name} placeholders)
// and params.
func N(code, en string, params ...Param) Note {
	return Note{Code: code, Params: params, Text: Expand(en, params, nil)}
}

// String returns the English text.
func (n Note) String() string { return n.Text }
