package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// testAPITokens checks storage.TokenStore: a store that does not have the
// ability fails the suite, since both backends must.
func testAPITokens(t *testing.T, s storage.Store) {
	ctx := context.Background()
	ts, ok := s.(storage.TokenStore)
	if !ok {
		t.Fatalf("%T does not implement storage.TokenStore", s)
	}
	tok := &storage.APIToken{ID: "t1", TokenHash: hex64('e'), UserID: "u1", Name: "ERP 連携", Scopes: []string{"read", "write"},
		CreatedAt: base, ExpiresAt: base.Add(24 * time.Hour)}
	if err := ts.PutAPIToken(ctx, tok, audit("account.token-create", "t1")); err != nil {
		t.Fatal(err)
	}
	dupHash := *tok
	dupHash.ID = "t9"
	if err := ts.PutAPIToken(ctx, &dupHash, audit("account.token-create", "")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("duplicate hash err = %v", err)
	}
	dupID := *tok
	dupID.TokenHash = hex64('f')
	if err := ts.PutAPIToken(ctx, &dupID, audit("account.token-create", "")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("duplicate ID err = %v", err)
	}
	second := &storage.APIToken{ID: "t2", TokenHash: hex64('a'), UserID: "u1", Scopes: []string{"read"}, CreatedAt: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}
	if err := ts.PutAPIToken(ctx, second, audit("account.token-create", "t2")); err != nil {
		t.Fatal(err)
	}
	got, err := ts.GetAPITokenByHash(ctx, tok.TokenHash)
	if err != nil || got.ID != "t1" || got.Name != "ERP 連携" || !slices.Equal(got.Scopes, tok.Scopes) || !got.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("GetAPITokenByHash = %+v, %v", got, err)
	}
	got.RevokedAt, got.LastUsedAt, got.LastUsedAddr = base.Add(2*time.Hour), base.Add(time.Hour), "192.0.2.9"
	if err := ts.UpdateAPIToken(ctx, got, audit("account.token-revoke", "t1")); err != nil {
		t.Fatal(err)
	}
	again, err := ts.GetAPITokenByHash(ctx, tok.TokenHash)
	if err != nil || !again.RevokedAt.Equal(got.RevokedAt) || again.LastUsedAddr != "192.0.2.9" {
		t.Errorf("after update = %+v, %v", again, err)
	}
	ghost := *got
	ghost.ID = "nope"
	if err := ts.UpdateAPIToken(ctx, &ghost, nil); !errors.Is(err, kerr.NotFound) {
		t.Errorf("update of a missing token err = %v", err)
	}
	if _, err := ts.GetAPITokenByHash(ctx, hex64('0')); !errors.Is(err, kerr.NotFound) {
		t.Errorf("unknown hash err = %v", err)
	}
	list, err := ts.ListAPITokens(ctx, "u1")
	if err != nil || len(list) != 2 || list[0].ID != "t1" || list[1].ID != "t2" {
		t.Errorf("ListAPITokens = %v, %v", list, err)
	}
	if list, err := ts.ListAPITokens(ctx, "u2"); err != nil || len(list) != 0 {
		t.Errorf("ListAPITokens of another user = %v, %v", list, err)
	}
}
