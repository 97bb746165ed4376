package account_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
)

func TestHashRoundTrip(t *testing.T) {
	enc, err := account.HashPassword("correct horse battery", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("encoding %q", enc)
	}
	h, err := account.ParseHash(enc)
	if err != nil {
		t.Fatal(err)
	}
	if h.Params != fast {
		t.Errorf("params %+v, want %+v", h.Params, fast)
	}
	if !h.Verify("correct horse battery") || h.Verify("correct horse batterY") {
		t.Error("Verify is wrong")
	}
	enc2, _ := account.HashPassword("correct horse battery", fast)
	if enc2 == enc {
		t.Error("two hashes of one password share a salt")
	}
}

// TestKnownVector checks our encoding and verification against the
// reference implementation's output (argon2 CLI / RFC 9106 parameters).
func TestKnownVector(t *testing.T) {
	// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e
	// (the phc-winner-argon2 reference CLI; the same string is quoted by
	// several independent implementations' test suites)
	const enc = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	h, err := account.ParseHash(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Verify("password") {
		t.Error("reference hash does not verify")
	}
	if h.Verify("Password") {
		t.Error("wrong password verifies")
	}
}

func TestParseHashRefuses(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"huge memory", "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"many threads", "$argon2id$v=19$m=65536,t=1,p=300$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"short key", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXP"},
		{"bad base64", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$!!!"},
		{"order", "$argon2id$v=19$t=1,m=64,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"too long", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 300) + "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := account.ParseHash(tt.in); !errors.Is(err, kerr.Invalid) {
				t.Errorf("err = %v, want Invalid", err)
			}
		})
	}
}

func FuzzParseHash(f *testing.F) {
	good, _ := account.HashPassword("pw", fast)
	f.Add(good)
	f.Add("$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := account.ParseHash(s)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("wrong kind: %v", err)
			}
			return
		}
		// Whatever parses stays within the bounds, so verifying it is cheap enough.
		if h.Params.MemoryKiB > account.MaxMemoryKiB || h.Params.Time > account.MaxTime || len(h.Salt) < account.MinSaltLen || len(h.Key) < account.MinKeyLen {
			t.Fatalf("accepted out-of-bounds params %+v", h.Params)
		}
	})
}
