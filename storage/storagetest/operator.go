package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// testNameRequests checks storage.NameRequestStore: create, version
// rules, one pending request per company (also under concurrency), the
// approval writing the company in the same transaction or not at all,
// listing order, filters and paging, and refused input.
func testNameRequests(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, id := range []string{"co1", "co2"} {
		if err := s.PutCompany(ctx, &storage.Company{ID: id, Name: "旧商号 " + id, CreatedAt: base, UpdatedAt: base}, audit("company.create", "")); err != nil {
			t.Fatal(err)
		}
	}
	req := func(id, co string, at time.Time) *storage.NameRequest {
		return &storage.NameRequest{ID: id, CompanyID: co, OldName: "旧商号 " + co, Name: "新商号 " + id, Reason: "合併",
			Status: storage.NamePending, RequestedBy: "u1", RequestedAt: at}
	}
	before := auditCount(t, s)
	r1 := req("r1", "co1", base)
	if err := s.PutNameRequest(ctx, r1, nil, audit("company.name-request", "")); err != nil {
		t.Fatalf("create: %v", err)
	}
	if r1.Version != 1 || auditCount(t, s) != before+1 {
		t.Fatalf("after create: version %d, audit %d entries (want 1, %d)", r1.Version, auditCount(t, s), before+1)
	}
	got, err := s.GetNameRequest(ctx, "r1")
	if err != nil || got.Name != r1.Name || got.Status != storage.NamePending || got.Version != 1 || !got.RequestedAt.Equal(base) || got.OldName != r1.OldName || got.Reason != "合併" {
		t.Fatalf("GetNameRequest = %+v, %v", got, err)
	}
	if _, err := s.GetNameRequest(ctx, "nope"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetNameRequest(missing) err = %v, want NotFound", err)
	}

	// Rules of writing, each leaving nothing behind.
	n := auditCount(t, s)
	bad := []struct {
		name string
		r    *storage.NameRequest
		co   *storage.Company
		want kerr.Kind
	}{
		{"existing ID on create", req("r1", "co2", base), nil, kerr.Conflict},
		{"second pending of a company", req("r2", "co1", base.Add(time.Second)), nil, kerr.Conflict},
		{"missing company", req("r3", "co9", base), nil, kerr.FailedPrecondition},
		{"update of a missing request", func() *storage.NameRequest { r := req("r4", "co2", base); r.Version = 1; return r }(), nil, kerr.NotFound},
		{"stale version", func() *storage.NameRequest { r := req("r1", "co1", base); r.Version = 7; return r }(), nil, kerr.Conflict},
		{"no ID", req("", "co1", base), nil, kerr.Invalid},
		{"unknown status", func() *storage.NameRequest { r := req("r5", "co2", base); r.Status = "maybe"; return r }(), nil, kerr.Invalid},
		{"NUL in name", func() *storage.NameRequest { r := req("r5", "co2", base); r.Name = "a\x00b"; return r }(), nil, kerr.Invalid},
		{"oversize reason", func() *storage.NameRequest {
			r := req("r5", "co2", base)
			r.Reason = strings.Repeat("x", storage.MaxNameRequestText+1)
			return r
		}(), nil, kerr.Invalid},
	}
	for _, c := range bad {
		if err := s.PutNameRequest(ctx, c.r, c.co, audit("company.name-request", "")); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if err := s.PutNameRequest(ctx, req("r6", "co2", base), nil, nil); !errors.Is(err, kerr.Invalid) {
		t.Errorf("no audit entry: err = %v, want Invalid", err)
	}
	if auditCount(t, s) != n {
		t.Errorf("refused writes appended %d audit entries", auditCount(t, s)-n)
	}
	if _, err := s.GetNameRequest(ctx, "r6"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("request written without audit entry: %v", err)
	}

	// An approval with a stale company version writes neither.
	co1, err := s.GetCompany(ctx, "co1")
	if err != nil {
		t.Fatal(err)
	}
	stale := *co1
	stale.Version = 99
	stale.Name = "新商号 r1"
	dec := *r1
	dec.Status, dec.DecidedBy, dec.DecidedAt = storage.NameApproved, "op1", base.Add(time.Hour)
	if err := s.PutNameRequest(ctx, &dec, &stale, audit("company.name-approve", "")); !errors.Is(err, kerr.Conflict) {
		t.Fatalf("approval with stale company: err = %v, want Conflict", err)
	}
	if got, _ := s.GetNameRequest(ctx, "r1"); got.Status != storage.NamePending || got.Version != 1 {
		t.Fatalf("failed approval changed the request: %+v", got)
	}
	// The approval: request and company together.
	co1.Name = "新商号 r1"
	dec = *r1
	dec.Status, dec.DecidedBy, dec.DecidedAt, dec.Note = storage.NameApproved, "op1", base.Add(time.Hour), "登記簿で確認"
	if err := s.PutNameRequest(ctx, &dec, co1, audit("company.name-approve", "")); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if dec.Version != 2 || co1.Version != 2 {
		t.Errorf("versions after approval: request %d, company %d; want 2, 2", dec.Version, co1.Version)
	}
	if got, _ := s.GetCompany(ctx, "co1"); got.Name != "新商号 r1" {
		t.Errorf("company name after approval = %q", got.Name)
	}
	if got, _ := s.GetNameRequest(ctx, "r1"); got.Status != storage.NameApproved || got.DecidedBy != "op1" || !got.DecidedAt.Equal(base.Add(time.Hour)) || got.Note != "登記簿で確認" {
		t.Errorf("request after approval = %+v", got)
	}
	// Decided, co1 may ask again.
	if err := s.PutNameRequest(ctx, req("r2", "co1", base.Add(2*time.Hour)), nil, audit("company.name-request", "")); err != nil {
		t.Fatalf("new request after a decided one: %v", err)
	}

	// Two concurrent pending requests of one company: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.PutNameRequest(ctx, req(fmt.Sprintf("c%d", i), "co2", base.Add(time.Duration(3+i)*time.Hour)), nil, audit("company.name-request", ""))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, kerr.Conflict):
			t.Errorf("concurrent request: %v, want nil or Conflict", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent pending requests of one company succeeded, want 1", wins)
	}

	// Listing: order, filters, paging.
	all, err := s.ListNameRequests(ctx, &storage.NameRequestQuery{Limit: 100})
	if err != nil || len(all) != 3 || all[0].ID != "r1" || all[1].ID != "r2" || all[2].CompanyID != "co2" {
		t.Fatalf("ListNameRequests(all) = %v, %v", requestIDs(all), err)
	}
	if got, err := s.ListNameRequests(ctx, &storage.NameRequestQuery{Status: storage.NamePending, Limit: 100}); err != nil || len(got) != 2 || got[0].ID != "r2" {
		t.Errorf("pending = %v, %v", requestIDs(got), err)
	}
	if got, err := s.ListNameRequests(ctx, &storage.NameRequestQuery{CompanyID: "co1", Status: storage.NameApproved, Limit: 100}); err != nil || len(got) != 1 || got[0].ID != "r1" {
		t.Errorf("co1 approved = %v, %v", requestIDs(got), err)
	}
	p1, err := s.ListNameRequests(ctx, &storage.NameRequestQuery{Limit: 2})
	if err != nil || len(p1) != 2 {
		t.Fatalf("page 1 = %v, %v", requestIDs(p1), err)
	}
	p2, err := s.ListNameRequests(ctx, &storage.NameRequestQuery{Limit: 2, After: p1[1].ID})
	if err != nil || len(p2) != 1 || p2[0].ID != all[2].ID {
		t.Errorf("page 2 = %v, %v; want [%s]", requestIDs(p2), err, all[2].ID)
	}
	for _, q := range []storage.NameRequestQuery{{Limit: 0}, {Limit: storage.MaxNameRequestPage + 1}, {Limit: 1, Status: "x"}, {Limit: 1, After: "nope"}} {
		if _, err := s.ListNameRequests(ctx, &q); !errors.Is(err, kerr.Invalid) {
			t.Errorf("ListNameRequests(%+v) err = %v, want Invalid", q, err)
		}
	}
}

func requestIDs(rs []*storage.NameRequest) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
