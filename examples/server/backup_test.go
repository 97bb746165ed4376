package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/storage"
)

// TestBackupCommands: server backup, restore and check on a data
// directory of the embedded default (a company, so a database with rows
// and the development TSA's files); the restored directory opens and
// holds the company; usage errors exit 2, failures 1.
func TestBackupCommands(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	svc, err := keiyaku.Open(ctx, keiyaku.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	co, _, _, err := svc.Accounts.CreateCompany(ctx, "株式会社バックアップ", account.NewUser{LoginID: "backup-admin", Profile: storage.Profile{Name: "B", Email: "bk@example.com", Language: "ja"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	out, restored := filepath.Join(t.TempDir(), "backup"), filepath.Join(t.TempDir(), "restored")
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"backup", "-dir", dir, "-out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr.String())
	}
	var m struct {
		Database int64    `json:"database_bytes"`
		Files    []string `json:"files"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil || m.Database == 0 || len(m.Files) < 2 {
		t.Fatalf("backup report %s: %v", stdout.String(), err)
	}
	svc.Close()
	stdout.Reset()
	if code := run(ctx, []string{"restore", "-from", out, "-dir", restored}, &stdout, &stderr); code != 0 {
		t.Fatalf("restore: exit %d: %s", code, stderr.String())
	}
	if code := run(ctx, []string{"check", "-dir", restored}, &stdout, &stderr); code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderr.String())
	}
	svc2, err := keiyaku.Open(ctx, keiyaku.Config{Dir: restored})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	if got, err := svc2.Store.GetCompany(ctx, co.ID); err != nil || got.Name != "株式会社バックアップ" {
		t.Errorf("restored company: %v %v", got, err)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"backup", "-dir", dir}, 2},
		{[]string{"restore", "-from", out}, 2},
		{[]string{"check"}, 2},
		{[]string{"restore", "-from", out, "-dir", restored}, 1}, // a database there already
		{[]string{"check", "-dir", t.TempDir()}, 1},
	} {
		stderr.Reset()
		if code := run(ctx, c.args, &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), "server "+c.args[0]) {
			t.Errorf("%v: exit %d, stderr %q; want %d", c.args, code, stderr.String(), c.code)
		}
	}
}
