package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDisclosureAndRetention: the tour shows its first case to an
// auditor, who sees it alone and verifies it, then changes its retention
// and places and lifts a hold, before the move.
func TestDisclosureAndRetention(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	steps := []string{
		"== disclosure of a completed case to an auditor",
		"disclosure: account auditor-a (監査法人 / auditor) sees 1 case of the owner's 2; the others are not found",
		"disclosure: the auditor verifies the original: original=true",
		"== retention and legal hold",
		"retention: kept from ", "(extend)",
		"retention: set to delete at 10 years: until ",
		"retention: set to extend again: until ",
		`hold: placed (1 hold, reason "訴訟対応 / litigation")`,
		"hold: lifted (0 holds)",
		"== moving a completed case to a colleague",
	}
	rest := got
	for _, s := range steps {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("output lacks %q after the earlier steps:\n%s", s, got)
		}
		rest = rest[i+len(s):]
	}
}
