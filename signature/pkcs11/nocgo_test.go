//go:build !cgo

package pkcs11_test

import (
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature/pkcs11"
)

// TestOpenWithoutCgo: a build without cgo says so instead of failing to
// compile.
func TestOpenWithoutCgo(t *testing.T) {
	if _, err := pkcs11.Open(pkcs11.Config{Module: "x.so", TokenLabel: "t", KeyLabel: "k"}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("err = %v, want kind failed precondition", err)
	}
}
