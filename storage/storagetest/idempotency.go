package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// testIdempotency: a key is claimed once, answered, read back as stored,
// taken over only after it expired, released only while in flight; of
// concurrent claims exactly one wins; limits are kerr.Invalid.
func testIdempotency(t *testing.T, s storage.Store) {
	ctx := context.Background()
	rec := func(principal, key string) *storage.IdempotencyRecord {
		return &storage.IdempotencyRecord{Principal: principal, Request: "POST /v1/cases", Key: key, CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
	}
	begin := func(r *storage.IdempotencyRecord, now time.Time) *storage.IdempotencyRecord {
		t.Helper()
		got, err := s.BeginIdempotent(ctx, r, now)
		if err != nil {
			t.Fatalf("BeginIdempotent(%s): %v", r.Key, err)
		}
		return got
	}

	r := rec("u1", "k1")
	if got := begin(r, base); got != nil {
		t.Fatalf("first claim found %+v", got)
	}
	if got := begin(rec("u1", "k1"), base.Add(time.Second)); got == nil || got.Status != 0 || got.RequestHash != nil {
		t.Fatalf("second claim while in flight = %+v, want the in-flight record", got)
	}
	// Another caller, another request: other records.
	if got := begin(rec("u2", "k1"), base); got != nil {
		t.Errorf("another caller's claim found %+v", got)
	}
	other := rec("u1", "k1")
	other.Request = "POST /v1/cases/c1/return"
	if got := begin(other, base); got != nil {
		t.Errorf("a claim for another request found %+v", got)
	}

	sum := sha256.Sum256([]byte("body"))
	r.RequestHash, r.Status, r.Header, r.Body = sum[:], 201, map[string][]string{"Content-Type": {"application/json"}, "Etag": {`"1"`}}, []byte(`{"id":"c1"}`)
	r.ExpiresAt = base.Add(24 * time.Hour)
	if err := s.FinishIdempotent(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIdempotent(ctx, r); !errors.Is(err, kerr.NotFound) {
		t.Errorf("finishing an answered record: %v, want NotFound", err)
	}
	got := begin(rec("u1", "k1"), base.Add(time.Hour))
	if got == nil || got.Status != 201 || !bytes.Equal(got.RequestHash, sum[:]) || !bytes.Equal(got.Body, r.Body) ||
		!reflect.DeepEqual(got.Header, r.Header) || !got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(r.ExpiresAt) ||
		got.Principal != "u1" || got.Request != "POST /v1/cases" || got.Key != "k1" {
		t.Fatalf("answered record read back as %+v", got)
	}
	// Release leaves an answered record alone.
	if err := s.ReleaseIdempotent(ctx, "u1", "POST /v1/cases", "k1"); err != nil {
		t.Fatal(err)
	}
	if got := begin(rec("u1", "k1"), base.Add(time.Hour)); got == nil || got.Status != 201 {
		t.Fatalf("after releasing an answered record: %+v", got)
	}
	// Expired: taken over, in flight again.
	later := base.Add(24 * time.Hour)
	recLater := func() *storage.IdempotencyRecord {
		r := rec("u1", "k1")
		r.CreatedAt, r.ExpiresAt = later, later.Add(10*time.Minute)
		return r
	}
	if got := begin(recLater(), later); got != nil {
		t.Fatalf("claim after expiry found %+v", got)
	}
	if got := begin(recLater(), later); got == nil || got.Status != 0 || len(got.Body) != 0 || !got.CreatedAt.Equal(later) {
		t.Fatalf("the taken-over record is %+v, want in flight and empty", got)
	}
	// Released in flight: free again.
	if err := s.ReleaseIdempotent(ctx, "u1", "POST /v1/cases", "k1"); err != nil {
		t.Fatal(err)
	}
	if got := begin(recLater(), later); got != nil {
		t.Fatalf("claim after release found %+v", got)
	}
	if err := s.ReleaseIdempotent(ctx, "nobody", "POST /x", "none"); err != nil {
		t.Errorf("releasing nothing: %v", err)
	}
	missing := rec("u9", "never")
	missing.Status = 200
	if err := s.FinishIdempotent(ctx, missing); !errors.Is(err, kerr.NotFound) {
		t.Errorf("finishing an unclaimed key: %v, want NotFound", err)
	}

	// Of concurrent claims exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.BeginIdempotent(ctx, rec("u3", "race"), base)
			if err != nil {
				t.Errorf("concurrent claim: %v", err)
				return
			}
			if got == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent claims won, want 1", wins)
	}

	// Limits.
	for name, bad := range map[string]*storage.IdempotencyRecord{
		"empty key":     rec("u1", ""),
		"long key":      rec("u1", strings.Repeat("k", storage.MaxIdempotencyKeyLen+1)),
		"no caller":     rec("", "k"),
		"NUL in key":    rec("u1", "k\x00"),
		"invalid UTF-8": rec("u1", "k\xff"),
		"short hash":    {Principal: "u1", Request: "POST /", Key: "k", RequestHash: []byte{1}},
		"large body":    {Principal: "u1", Request: "POST /", Key: "k", Body: make([]byte, storage.MaxIdempotencyBody+1)},
	} {
		if _, err := s.BeginIdempotent(ctx, bad, base); !errors.Is(err, kerr.Invalid) {
			t.Errorf("%s: BeginIdempotent = %v, want Invalid", name, err)
		}
		if err := s.FinishIdempotent(ctx, bad); !errors.Is(err, kerr.Invalid) {
			t.Errorf("%s: FinishIdempotent = %v, want Invalid", name, err)
		}
	}
	if _, err := s.BeginIdempotent(ctx, nil, base); !errors.Is(err, kerr.Invalid) {
		t.Errorf("nil record: %v", err)
	}

	// Prune removes what expired, nothing else.
	n, err := s.PruneIdempotent(ctx, base.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Expired at base+10m: u2/k1, u1/k1 for the other request, u3/race.
	if n != 3 {
		t.Errorf("PruneIdempotent removed %d records, want 3", n)
	}
	if got := begin(recLater(), later); got == nil {
		t.Error("prune removed a live record")
	}
	if got := begin(rec("u2", "k1"), base); got != nil {
		t.Error("prune left an expired record")
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.BeginIdempotent(cctx, rec("u5", "c"), base); !errors.Is(err, kerr.Unavailable) {
		t.Errorf("cancelled claim: %v, want Unavailable", err)
	}
}
