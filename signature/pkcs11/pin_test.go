package pkcs11_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature/pkcs11"
)

func TestReadPIN(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("pin", "9876\r\nsecond line ignored\n")
	empty := write("empty", "\n")
	big := write("big", string(make([]byte, 5000)))
	t.Setenv("KEIYAKU_TEST_PIN", "4321")
	t.Setenv("KEIYAKU_TEST_EMPTY_PIN", "")
	tests := []struct {
		name, file, env, want string
		kind                  kerr.Kind
	}{
		{"file", good, "", "9876", 0},
		{"env", "", "KEIYAKU_TEST_PIN", "4321", 0},
		{"neither", "", "", "", kerr.Invalid},
		{"both", good, "KEIYAKU_TEST_PIN", "", kerr.Invalid},
		{"missing file", filepath.Join(dir, "nope"), "", "", kerr.Invalid},
		{"empty file", empty, "", "", kerr.Invalid},
		{"huge file", big, "", "", kerr.Invalid},
		{"unset env", "", "KEIYAKU_TEST_NO_SUCH_PIN", "", kerr.Invalid},
		{"empty env", "", "KEIYAKU_TEST_EMPTY_PIN", "", kerr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pkcs11.ReadPIN(tt.file, tt.env)
			if tt.kind != 0 {
				if !errors.Is(err, tt.kind) || got != "" {
					t.Fatalf("got %q, %v; want kind %v", got, err, tt.kind)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
