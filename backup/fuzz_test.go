package backup

import (
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
)

// FuzzRaiseSerial: whatever the TSA serial file holds, raiseSerial does
// not panic; it raises a decimal serial by exactly SerialMargin, and
// refuses anything else as kerr.Invalid, leaving the file as it was.
func FuzzRaiseSerial(f *testing.F) {
	for _, s := range []string{"0\n", "256\n", "1461501637330902918203684832716283019655932542975", "", "-1", "abc", "12 34", "0x10", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "serial")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		err := raiseSerial(path)
		got, _ := os.ReadFile(path)
		n, ok := new(big.Int).SetString(strings.TrimSpace(content), 10)
		if ok && n.Sign() >= 0 {
			want := new(big.Int).Add(n, big.NewInt(SerialMargin)).String() + "\n"
			if err != nil || string(got) != want {
				t.Fatalf("serial %q: %q, %v; want %q", content, got, err, want)
			}
			return
		}
		if !errors.Is(err, kerr.Invalid) || string(got) != content {
			t.Fatalf("content %q: err %v, file now %q", content, err, got)
		}
	})
}
