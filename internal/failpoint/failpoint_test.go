package failpoint_test

import (
	"testing"

	"github.com/keiyaku/keiyaku/internal/failpoint"
)

// BenchmarkHitOff measures a fault point when none is armed (the
// production case): go test ./internal/failpoint -bench . -benchtime 100000000x
func BenchmarkHitOff(b *testing.B) {
	for b.Loop() {
		failpoint.Hit(failpoint.CommitBegin)
	}
}

// TestAllDistinct: every point has its own name (the sweep in
// faultpoint_test.go at the root arms each in turn).
func TestAllDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range failpoint.All {
		if p == "" || seen[p] {
			t.Errorf("point %q empty or listed twice", p)
		}
		seen[p] = true
	}
	if len(seen) != 11 {
		t.Errorf("%d points, want the 11 declared", len(seen))
	}
}
