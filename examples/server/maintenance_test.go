package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/storage"
)

// TestMaintainOnce anchors the audit log of the embedded store (the
// development TSA) and prunes; a second round with no new entry keeps the
// anchor.
func TestMaintainOnce(t *testing.T) {
	ctx := context.Background()
	svc, err := keiyaku.Open(ctx, keiyaku.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, ok := svc.Store.(storage.AnchoredStore)
	if !ok {
		t.Fatal("the embedded store keeps no audit anchors")
	}
	// An empty log is not an error.
	if err := maintainOnce(ctx, svc, log); err != nil {
		t.Fatalf("empty log: %v", err)
	}
	if _, _, _, err := svc.Accounts.CreateCompany(ctx, "株式会社保守", account.NewUser{LoginID: "maint", Profile: storage.Profile{Name: "保守", Email: "m@example.com", Language: "ja"}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := maintainOnce(ctx, svc, log); err != nil {
		t.Fatal(err)
	}
	first, err := st.LastAuditAnchor(ctx)
	if err != nil || first.Seq == 0 {
		t.Fatalf("no anchor after maintenance: %v %+v", err, first)
	}
	if err := maintainOnce(ctx, svc, log); err != nil {
		t.Fatal(err)
	}
	if again, err := st.LastAuditAnchor(ctx); err != nil || again.Seq != first.Seq {
		t.Fatalf("anchor after a round with no new entry: %v %+v, want seq %d", err, again, first.Seq)
	}
}
