package timestamp_test

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keiyaku/keiyaku/timestamp"
)

func TestFileSerialStoreAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serial")
	ctx := context.Background()
	s, err := timestamp.NewFileSerialStore(path)
	if err != nil {
		t.Fatal(err)
	}
	var last *big.Int
	for i := 0; i < 3; i++ {
		n, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if last != nil && n.Cmp(last) <= 0 {
			t.Fatalf("serial %v after %v", n, last)
		}
		last = n
	}
	// "Restart": a new store on the same file continues above.
	s2, err := timestamp.NewFileSerialStore(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s2.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Cmp(last) <= 0 {
		t.Fatalf("after restart: serial %v, last before %v", n, last)
	}
	// The first store reserved a block; the restart skips its unused rest.
	if n.Cmp(big.NewInt(timestamp.SerialBlock)) <= 0 {
		t.Fatalf("after restart: serial %v is inside the block the first store reserved", n)
	}
	// Crossing a block boundary persists a new ceiling above every serial
	// handed out.
	for i := 0; i < timestamp.SerialBlock+5; i++ {
		if n, err = s2.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ceiling, ok := new(big.Int).SetString(strings.TrimSpace(string(b)), 10)
	if !ok || ceiling.Cmp(n) < 0 {
		t.Fatalf("serial file holds %q, below the serial %v handed out", b, n)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v %v", entries, err)
	}
}

func TestFileSerialStoreBadFile(t *testing.T) {
	cases := []struct {
		name    string
		content string
	}{
		{"not-a-number", "abc"},
		{"negative", "-5"},
		{"too-long", string(make([]byte, 200))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "serial")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := timestamp.NewFileSerialStore(path); err == nil {
				t.Fatal("bad serial file accepted")
			}
		})
	}
}

func TestSerialStoresConcurrent(t *testing.T) {
	fs, err := timestamp.NewFileSerialStore(filepath.Join(t.TempDir(), "serial"))
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]timestamp.SerialStore{"memory": timestamp.NewMemorySerialStore(100), "file": fs, "random": timestamp.RandomSerialStore{}}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]bool{}
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 5; i++ {
						n, err := s.Next(context.Background())
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						if seen[n.String()] {
							t.Errorf("serial %v handed out twice", n)
						}
						seen[n.String()] = true
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(seen) != 20 {
				t.Fatalf("%d distinct serials, want 20", len(seen))
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := timestamp.NewMemorySerialStore(0).Next(ctx); err == nil {
		t.Fatal("Next ignored a cancelled context")
	}
}

// TestRandomSerialStore: serials are positive, at most 160 bits (RFC 3161
// §2.4.2), spread over the whole range (not a counter), distinct.
func TestRandomSerialStore(t *testing.T) {
	var s timestamp.RandomSerialStore
	seen := map[string]bool{}
	wide := 0
	for range 2000 {
		n, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n.Sign() <= 0 || n.BitLen() > 159 {
			t.Fatalf("serial %x: %d bits", n, n.BitLen())
		}
		if n.BitLen() > 150 {
			wide++
		}
		if seen[n.String()] {
			t.Fatalf("serial %x twice", n)
		}
		seen[n.String()] = true
	}
	if wide < 1900 {
		t.Errorf("only %d of 2000 serials above 2^150: not uniform over 159 bits", wide)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); err == nil {
		t.Error("Next with a cancelled context succeeded")
	}
}
