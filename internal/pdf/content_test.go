package pdf

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseContent(t *testing.T) {
	in := "q 1 0 0 1 72 700 cm BT /F1 12 Tf (Hi) Tj [(A) -20 (B)] TJ ET Q\n" +
		"BI /W 2 /H 1 /BPC 8 /CS /G ID \x00EI\xff EI /Im1 Do % comment\n0 0 10 10 re f"
	var got []string
	err := ParseContent([]byte(in), func(op string, args []Object) error {
		got = append(got, fmt.Sprintf("%s%v", op, args))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"q[]", "cm[1 0 0 1 72 700]", "BT[]", "Tf[F1 12]", "Tj[[72 105]]",
		"TJ[[[65] -20 [66]]]", "ET[]", "Q[]", "BI[]", "Do[Im1]", "re[0 0 10 10]", "f[]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestParseContentErrors(t *testing.T) {
	stop := errors.New("stop")
	tests := []struct {
		name string
		in   string
		fn   func(string, []Object) error
		want error
	}{
		{"unterminated string", "(abc Tj", nil, ErrMalformed},
		{"unbalanced dict", "<< /A 1 BDC", nil, ErrMalformed},
		{"callback error", "q Q", func(string, []Object) error { return stop }, stop},
		{"deep arrays", strings.Repeat("[", 100), nil, ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := tt.fn
			if fn == nil {
				fn = func(string, []Object) error { return nil }
			}
			if err := ParseContent([]byte(tt.in), fn); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzParseContent(f *testing.F) {
	f.Add([]byte("q 1 0 0 1 72 700 cm BT /F1 12 Tf (Hi) Tj ET Q"))
	f.Add([]byte("BI /W 1 ID x EI Q"))
	f.Add([]byte("[(a) 1 (b)] TJ /Name << /K [1 2] >> BDC EMC"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		err := ParseContent(b, func(op string, args []Object) error {
			n++
			if len(args) > maxContentOperands {
				t.Fatalf("%d operands", len(args))
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
	})
}
