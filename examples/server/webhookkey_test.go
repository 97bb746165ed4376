package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebhookKeyFile: -webhook-key-file takes 64 hex digits as the key
// sealing webhook secrets; anything else is one configuration error line.
func TestWebhookKeyFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not hex"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parse([]string{"-dir", t.TempDir(), "-webhook-key-file", good}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, closers, err := config(context.Background(), o, slog.New(slog.DiscardHandler), "http")
	for _, c := range closers {
		defer c()
	}
	if err != nil || len(cfg.Webhook.Key) != 32 || cfg.Webhook.Key[0] != 0xab {
		t.Fatalf("good key: %v, key %x", err, cfg.Webhook.Key)
	}
	for _, f := range []string{bad, filepath.Join(dir, "missing")} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"-dir", t.TempDir(), "-webhook-key-file", f}, &out, &errb); code != 2 || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q", f, code, errb.String())
		}
	}
}
