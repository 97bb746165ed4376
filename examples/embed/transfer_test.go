package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestTransfer: the tour moves its first case to a new colleague, who
// then verifies the original.
func TestTransfer(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	i := strings.Index(got, "== moving a completed case to a colleague")
	if i < 0 || !strings.Contains(got[i:], "now belongs to 後任 次郎") || !strings.Contains(got[i:], "the new owner verifies the original: original=true") {
		t.Errorf("the tour does not show the move:\n%s", got)
	}
}
