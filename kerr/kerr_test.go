package kerr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
)

func TestKinds(t *testing.T) {
	base := kerr.E(kerr.NotFound, "sqlite.GetCase", "case %q does not exist", "c1")
	tests := []struct {
		name    string
		err     error
		want    kerr.Kind
		notKind kerr.Kind
	}{
		{"direct", base, kerr.NotFound, kerr.Conflict},
		{"wrapped once", kerr.Wrap("casework.Get", base), kerr.NotFound, kerr.Internal},
		{"wrapped by fmt", fmt.Errorf("outer: %w", kerr.Wrap("a", base)), kerr.NotFound, kerr.Invalid},
		{"override", kerr.WrapKind(kerr.PermissionDenied, "casework.Get", "hidden", base), kerr.PermissionDenied, kerr.Conflict},
		{"plain error becomes internal", kerr.Wrap("x", io.ErrUnexpectedEOF), kerr.Internal, kerr.NotFound},
		{"context error becomes unavailable", kerr.Wrap("x", context.Canceled), kerr.Unavailable, kerr.Internal},
		{"E with cause", kerr.E(kerr.Invalid, "op", "bad: %w", io.EOF), kerr.Invalid, kerr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.want)
			}
			if errors.Is(tt.err, tt.notKind) {
				t.Errorf("errors.Is(%v, %v) = true", tt.err, tt.notKind)
			}
			if got := kerr.Of(tt.err); got != tt.want {
				t.Errorf("Of = %v, want %v", got, tt.want)
			}
			var e *kerr.Error
			if !errors.As(tt.err, &e) {
				t.Fatal("errors.As *Error failed")
			}
		})
	}
	if kerr.Wrap("x", nil) != nil || kerr.WrapKind(kerr.Invalid, "x", "m", nil) != nil {
		t.Error("wrapping nil must give nil")
	}
	if kerr.Of(nil) != kerr.Other {
		t.Error("Of(nil) must be Other")
	}
	if !errors.Is(kerr.E(kerr.Invalid, "op", "bad: %w", io.EOF), io.EOF) {
		t.Error("E lost its %w cause")
	}
	if !errors.Is(kerr.Wrap("x", context.Canceled), context.Canceled) {
		t.Error("Wrap lost context.Canceled")
	}
	if errors.Is(kerr.Wrap("x", base), kerr.Other) {
		t.Error("Other must never match")
	}
}

func ExampleE() {
	err := kerr.Wrap("casework.Get", kerr.E(kerr.NotFound, "sqlite.GetCase", "case %q does not exist", "c1"))
	fmt.Println(err)
	fmt.Println(errors.Is(err, kerr.NotFound))
	// Output:
	// casework.Get: sqlite.GetCase: not found: case "c1" does not exist
	// true
}

func TestEWithCauseTextOnce(t *testing.T) {
	err := kerr.E(kerr.Unauthenticated, "account.Login", "%w until %s", io.ErrUnexpectedEOF, "10:00")
	if got, want := err.Error(), "account.Login: unauthenticated: unexpected EOF until 10:00"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, kerr.Unauthenticated) {
		t.Error("cause or kind lost")
	}
}

func ExampleM() {
	err := kerr.Wrap("casework.Register", kerr.M(kerr.Invalid, "casework.putDocument", "upload.empty",
		"the upload {file} is empty: choose the file again and upload it", kerr.P("file", "contract.pdf")))
	fmt.Println(err)
	fmt.Println(errors.Is(err, kerr.Invalid), kerr.CodeOf(err).Code)
	// Output:
	// casework.Register: casework.putDocument: invalid: the upload contract.pdf is empty: choose the file again and upload it
	// true upload.empty
}
