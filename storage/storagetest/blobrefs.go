package storagetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// testBlobRefs checks storage.BlobRefStore: every File key of every
// committed version is referenced (a replaced document too), imported
// cases' keys as well, nothing else; a failed commit adds nothing; bad
// input is kerr.Invalid.
func testBlobRefs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	refs := func(keys ...string) []string {
		t.Helper()
		m, err := s.BlobsReferenced(ctx, keys)
		if err != nil {
			t.Fatalf("BlobsReferenced: %v", err)
		}
		got := slices.Sorted(maps.Keys(m))
		for _, k := range got {
			if !m[k] {
				t.Errorf("BlobsReferenced answered %s = false; only referenced keys belong in the map", k)
			}
		}
		return got
	}
	a, b, c, d, e, f, g := hex64('a'), hex64('b'), hex64('c'), hex64('d'), hex64('e'), hex64('f'), hex64('0')
	if got := refs(a, b); len(got) != 0 {
		t.Fatalf("empty store references %v", got)
	}
	c1 := sample("c1") // Document a, Supplements b
	commit(t, s, c1)
	if got := refs(a, b, c, d); !slices.Equal(got, []string{a, b}) {
		t.Errorf("after registration: referenced %v, want [a b]", got)
	}
	// A later version replaces the document and seals: the replaced
	// document stays referenced.
	c1.Document = storage.File{Name: "contract.pdf", ContentType: "application/pdf", Key: c, Size: 2000}
	c1.Acceptance = storage.File{Name: "acceptance.pdf", Key: g, Size: 10}
	c1.Sealed = []storage.File{{Name: "contract.pdf", Key: d, Size: 3000}, {Name: "spec.xlsx.ers", Key: e, Size: 40}}
	c1.State = "completed"
	commit(t, s, c1)
	if got := refs(a, b, c, d, e, f, g); !slices.Equal(got, []string{g, a, b, c, d, e}) {
		t.Errorf("after completion: referenced %v, want [0 a b c d e]", got)
	}
	// A refused commit (stale version) adds nothing.
	stale := *c1
	stale.Version = 1
	stale.Supplements = []storage.File{{Name: "x", Key: f, Size: 1}}
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: &stale, Audit: audit("case.x", "c1")}); !errors.Is(err, kerr.Conflict) {
		t.Fatalf("stale commit: %v, want Conflict", err)
	}
	if got := refs(f); len(got) != 0 {
		t.Errorf("a refused commit referenced %v", got)
	}
	if bl, ok := s.(storage.BulkLoader); ok {
		imp := sample("c2")
		imp.Document.Key, imp.Supplements = f, nil
		if err := bl.ImportCases(ctx, []*storage.Case{imp}, audit("case.import", "")); err != nil {
			t.Fatal(err)
		}
		if got := refs(f); !slices.Equal(got, []string{f}) {
			t.Errorf("an imported case's document is not referenced: %v", got)
		}
	}
	// Limits and malformed keys.
	many := make([]string, storage.MaxBlobRefBatch+1)
	for i := range many {
		many[i] = fmt.Sprintf("7%063x", i)
	}
	if _, err := s.BlobsReferenced(ctx, many); !errors.Is(err, kerr.Invalid) {
		t.Errorf("%d keys: %v, want Invalid", len(many), err)
	}
	if m, err := s.BlobsReferenced(ctx, many[:storage.MaxBlobRefBatch]); err != nil || len(m) != 0 {
		t.Errorf("%d unknown keys: %v, %v", storage.MaxBlobRefBatch, m, err)
	}
	for _, bad := range []string{"", "A" + a[1:], a[:63], a + "0", "'; DROP TABLE blob_refs; --"} {
		if _, err := s.BlobsReferenced(ctx, []string{bad}); !errors.Is(err, kerr.Invalid) {
			t.Errorf("key %q: %v, want Invalid", bad, err)
		}
	}
}
