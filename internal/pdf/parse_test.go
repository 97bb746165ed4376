package pdf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseObject(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Object
	}{
		{"int", "42", int64(42)},
		{"negative int", "-17 ", int64(-17)},
		{"real", "3.25", 3.25},
		{"real leading dot", "-.5", -0.5},
		{"huge int becomes real", "123456789012345678901234", 1.2345678901234568e23},
		{"garbage number reads as zero", "-1.#INF", float64(0)},
		{"true", "true", true},
		{"false", "false", false},
		{"null", "null", nil},
		{"name", "/Type", Name("Type")},
		{"name with hex escape", "/A#20B", Name("A B")},
		{"literal", "(hello)", String("hello")},
		{"literal nested parens", "(a(b)c)", String("a(b)c")},
		{"literal escapes", `(\n\r\t\b\f\(\)\\\101\0)`, String("\n\r\t\b\f()\\A\x00")},
		{"literal line continuation", "(ab\\\ncd)", String("abcd")},
		{"literal CRLF is LF", "(a\r\nb)", String("a\nb")},
		{"hex", "<48 65 6C6c6F>", String("Hello")},
		{"hex odd digit count", "<414>", String("A@")},
		{"empty hex", "<>", String{}},
		{"array", "[1 2.5 /N (s) [true]]", Array{int64(1), 2.5, Name("N"), String("s"), Array{true}}},
		{"dict", "<< /A 1 /B << /C /D >> >>", Dict{"A": int64(1), "B": Dict{"C": Name("D")}}},
		{"dict null value dropped", "<< /A null /B 2 >>", Dict{"B": int64(2)}},
		{"ref", "12 0 R", Ref{12, 0}},
		{"refs in array", "[1 0 R 2 5 R 3]", Array{Ref{1, 0}, Ref{2, 5}, int64(3)}},
		{"two ints not a ref", "[1 2 3]", Array{int64(1), int64(2), int64(3)}},
		{"comment skipped", "% note\n/X", Name("X")},
		{"trailing bytes ignored", "/X garbage)", Name("X")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseObject([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseObject(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseObject(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseObjectErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"unterminated literal", "(abc", ErrMalformed},
		{"unterminated hex", "<4142", ErrMalformed},
		{"bad hex digit", "<41zz>", ErrMalformed},
		{"unterminated array", "[1 2", ErrMalformed},
		{"unterminated dict", "<< /A 1", ErrMalformed},
		{"dict key not a name", "<< 1 2 >>", ErrMalformed},
		{"stray close", "]", ErrMalformed},
		{"unknown keyword", "foo", ErrMalformed},
		{"deep nesting", strings.Repeat("[", 100) + strings.Repeat("]", 100), ErrLimit},
		{"deep dict nesting", strings.Repeat("<< /A ", 100) + strings.Repeat(">>", 100), ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseObject([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseObject(%q) error = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func FuzzParseObject(f *testing.F) {
	for _, s := range []string{
		"<< /Type /Sig /Contents <0102> /ByteRange [0 10 20 30] >>",
		"[1 0 R (a\\)b) <41> /N#41 -1.5 true null]",
		"(\\0777)", "<<>>", "1 0 R", strings.Repeat("[", 70),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseObject(b)
		if err != nil && o != nil {
			t.Errorf("error %v with non-nil object", err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) {
			t.Errorf("error %v wraps no sentinel", err)
		}
	})
}
