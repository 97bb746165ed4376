//go:build cgo

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keiyaku/keiyaku/internal/softhsm"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// BenchmarkBatch1000Token is BenchmarkBatch1000 with the key in SoftHSM2:
// one login, -pkcs11-sessions 1 and 2.
//
//	go test ./examples/sign -run '^$' -bench Batch1000 -benchtime 3x -cpu 2
func BenchmarkBatch1000Token(b *testing.B) {
	const n = 1000
	p := testpki.New(b)
	tok := softhsm.New(b, "keiyaku-batch-bench")
	tok.AddKey(b, p, softhsm.P256, "ec-key", []byte{1})
	dir, _ := batchDocs(b, n)
	pin := filepath.Join(b.TempDir(), "pin")
	if err := os.WriteFile(pin, []byte(softhsm.PIN), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, s := range []string{"1", "2"} {
		b.Run("tool/softhsm-sessions-"+s, func(b *testing.B) {
			benchBatch(b, n, dir, "-pkcs11-module", tok.Module, "-pkcs11-token", tok.Label, "-pkcs11-key", "ec-key",
				"-pin-file", pin, "-pkcs11-chain-label", "intermediate", "-pkcs11-sessions", s)
		})
	}
}
