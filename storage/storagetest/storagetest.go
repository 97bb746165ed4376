package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// base is the fixed clock of the suite.
var base = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// Run runs the conformance suite. newStore must return a new, empty store
// for each call; the suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	open := func(t *testing.T) storage.Store {
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("CreateAndGet", func(t *testing.T) { testCreateAndGet(t, open(t)) })
	t.Run("VersionRules", func(t *testing.T) { testVersionRules(t, open(t)) })
	t.Run("AtomicCommit", func(t *testing.T) { testAtomicCommit(t, open(t)) })
	t.Run("CancelledWrite", func(t *testing.T) { testCancelledWrite(t, open(t)) })
	t.Run("ConcurrentConflict", func(t *testing.T) { testConcurrentConflict(t, open(t)) })
	t.Run("SearchFilters", func(t *testing.T) { testSearchFilters(t, open(t)) })
	t.Run("SearchOrderAndPaging", func(t *testing.T) { testSearchOrderAndPaging(t, open(t)) })
	t.Run("SearchInvalid", func(t *testing.T) { testSearchInvalid(t, open(t)) })
	t.Run("SearchAfterUpdates", func(t *testing.T) { testSearchAfterUpdates(t, open(t)) })
	t.Run("AuditChain", func(t *testing.T) { testAuditChain(t, open(t)) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open(t)) })
	t.Run("OutboxClaim", func(t *testing.T) { testOutboxClaim(t, open(t)) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open(t)) })
	t.Run("BulkLoader", func(t *testing.T) { testBulkLoader(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("SignerFields", func(t *testing.T) { testSignerFields(t, open(t)) })
	t.Run("Directory", func(t *testing.T) { testDirectory(t, open(t)) })
	// guard.go
	t.Run("ThrottleRace", func(t *testing.T) { testThrottleRace(t, open(t)) })
	t.Run("ThrottleRules", func(t *testing.T) { testThrottleRules(t, open(t)) })
	t.Run("Tally", func(t *testing.T) { testTally(t, open(t)) })
	t.Run("PutUserEndSessions", func(t *testing.T) { testPutUserEndSessions(t, open(t)) })
	t.Run("APITokens", func(t *testing.T) { testAPITokens(t, open(t)) })
	t.Run("UserAccess", func(t *testing.T) { testUserAccess(t, open(t)) })
	// personal.go
	t.Run("HiddenMarks", func(t *testing.T) { testHiddenMarks(t, open(t)) })
	t.Run("Comments", func(t *testing.T) { testComments(t, open(t)) })
	t.Run("NameRequests", func(t *testing.T) { testNameRequests(t, open(t)) }) // operator.go
	// blobrefs.go
	t.Run("BlobRefs", func(t *testing.T) { testBlobRefs(t, open(t)) })
	// webhook.go
	t.Run("WebhookSubscriptions", func(t *testing.T) { testWebhookSubscriptions(t, open(t)) })
	t.Run("WebhookDeliveries", func(t *testing.T) { testWebhookDeliveries(t, open(t)) })
	// reminder.go
	t.Run("Reminders", func(t *testing.T) { testReminders(t, open(t)) })
	t.Run("Disclosures", func(t *testing.T) { testDisclosures(t, open(t)) }) // disclosure.go
	t.Run("DisclosureRaces", func(t *testing.T) { testDisclosureRaces(t, open(t)) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open(t)) }) // idempotency.go
	runRetention(t, open)                                                    // retention.go
}

func audit(action, caseID string) []storage.AuditEntry {
	return []storage.AuditEntry{{Time: base, ActorUserID: "u1", ActorCompanyID: "co1", RemoteAddr: "192.0.2.1", Action: action, CaseID: caseID}}
}

func hex64(c byte) string { return strings.Repeat(string(c), 64) }

// sample returns a valid case record.
func sample(id string) *storage.Case {
	return &storage.Case{
		ID: id, Form: "bilateral", State: "sent", Category: "new",
		Name: "業務委託契約 " + id, OrderNumber: "PO-" + id, Amount: 1_000_000, Currency: "JPY",
		TransactionDate:     civil.Date{Year: 2026, Month: 3, Day: 15},
		RegistrantCompanyID: "co1", RegistrantUserID: "u1",
		Parties:     []storage.Party{{CompanyID: "co2", CompanyName: "株式会社サンプル", UserID: "u2"}},
		Document:    storage.File{Name: "contract.pdf", ContentType: "application/pdf", Key: hex64('a'), Size: 1234},
		Supplements: []storage.File{{Name: "spec.xlsx", Key: hex64('b'), Size: 99}},
		CreatedAt:   base, UpdatedAt: base,
	}
}

func commit(t *testing.T, s storage.Store, c *storage.Case, events ...storage.Event) {
	t.Helper()
	if err := s.CommitCase(context.Background(), &storage.CaseCommit{Case: c, Audit: audit("case."+c.State, c.ID), Events: events}); err != nil {
		t.Fatalf("CommitCase(%s v%d): %v", c.ID, c.Version, err)
	}
}

func auditCount(t *testing.T, s storage.Store) int {
	t.Helper()
	n := 0
	var after int64
	for {
		page, err := s.ListAudit(context.Background(), after, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return n
		}
		n += len(page)
		after = page[len(page)-1].Seq
	}
}

func sameCase(t *testing.T, got, want *storage.Case) {
	t.Helper()
	g, w := *got, *want
	for _, p := range []*storage.Case{&g, &w} {
		for _, tm := range []*time.Time{&p.CreatedAt, &p.UpdatedAt, &p.CompletedAt} {
			if !tm.IsZero() {
				*tm = tm.UTC()
			}
		}
		for i := range p.Parties {
			p.Parties[i].DoneAt = p.Parties[i].DoneAt.UTC()
		}
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("stored case differs:\n got %+v\nwant %+v", g, w)
	}
}

func testCreateAndGet(t *testing.T, s storage.Store) {
	ctx := context.Background()
	c := sample("c1")
	cc := &storage.CaseCommit{Case: c, Audit: audit("case.register", "c1"), Events: []storage.Event{{ID: "e1", Type: "receipt_requested", CaseID: "c1", Recipients: []string{"u2"}, Language: "ja", CreatedAt: base}}}
	if err := s.CommitCase(ctx, cc); err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 {
		t.Errorf("Version after create = %d, want 1", c.Version)
	}
	if cc.Audit[0].Seq != 1 || len(cc.Audit[0].Hash) != 32 {
		t.Errorf("audit entry not sealed: %+v", cc.Audit[0])
	}
	got, err := s.GetCase(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	sameCase(t, got, c)

	got.State = "received"
	got.UpdatedAt = base.Add(time.Hour)
	got.Parties[0].DoneAt = base.Add(time.Hour)
	commit(t, s, got)
	if got.Version != 2 {
		t.Errorf("Version after update = %d, want 2", got.Version)
	}
	again, err := s.GetCase(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	sameCase(t, again, got)

	if _, err := s.GetCase(ctx, "nope"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetCase(missing) err = %v, want NotFound", err)
	}
}

func testVersionRules(t *testing.T, s storage.Store) {
	ctx := context.Background()
	commit(t, s, sample("c1"))
	tests := []struct {
		name string
		cc   *storage.CaseCommit
		want kerr.Kind
	}{
		{"create existing", &storage.CaseCommit{Case: sample("c1"), Audit: audit("x", "c1")}, kerr.Conflict},
		{"stale version", &storage.CaseCommit{Case: func() *storage.Case { c := sample("c1"); c.Version = 7; return c }(), Audit: audit("x", "c1")}, kerr.Conflict},
		{"update missing", &storage.CaseCommit{Case: func() *storage.Case { c := sample("c9"); c.Version = 1; return c }(), Audit: audit("x", "c9")}, kerr.NotFound},
		{"no audit", &storage.CaseCommit{Case: sample("c2")}, kerr.Invalid},
		{"nil case", &storage.CaseCommit{Audit: audit("x", "")}, kerr.Invalid},
		{"empty id", &storage.CaseCommit{Case: sample(""), Audit: audit("x", "")}, kerr.Invalid},
		{"no transaction date", &storage.CaseCommit{Case: func() *storage.Case { c := sample("c3"); c.TransactionDate = civil.Date{}; return c }(), Audit: audit("x", "c3")}, kerr.Invalid},
		{"not a calendar date", &storage.CaseCommit{Case: func() *storage.Case { c := sample("c4"); c.TransactionDate = date(2026, 2, 30); return c }(), Audit: audit("x", "c4")}, kerr.Invalid},
	}
	before := auditCount(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v int64
			if tt.cc.Case != nil {
				v = tt.cc.Case.Version
			}
			err := s.CommitCase(ctx, tt.cc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.cc.Case != nil && tt.cc.Case.Version != v {
				t.Errorf("failed commit changed Version to %d", tt.cc.Case.Version)
			}
		})
	}
	if n := auditCount(t, s); n != before {
		t.Errorf("failed commits appended %d audit entries", n-before)
	}
	if _, err := s.GetCase(ctx, "c2"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("a refused create left case c2 behind: %v", err)
	}
	got, err := s.GetCase(ctx, "c1")
	if err != nil || got.Version != 1 {
		t.Errorf("c1 = %+v, %v; want version 1", got, err)
	}
}

func testAtomicCommit(t *testing.T, s storage.Store) {
	ctx := context.Background()
	ev := storage.Event{ID: "e1", Type: "receipt_requested", CaseID: "c1", Recipients: []string{"u2"}, Language: "ja", CreatedAt: base}
	commit(t, s, sample("c1"), ev)
	before := auditCount(t, s)

	// The event ID clashes, so the whole commit (state, audit, both events)
	// must be refused.
	c := sample("c1")
	c.Version = 1
	c.State = "received"
	fresh := ev
	fresh.ID = "e2"
	err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: audit("case.receive", "c1"), Events: []storage.Event{fresh, ev}})
	if !errors.Is(err, kerr.Conflict) {
		t.Fatalf("duplicate event err = %v, want Conflict", err)
	}
	got, err := s.GetCase(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "sent" || got.Version != 1 {
		t.Errorf("case changed by a refused commit: state %s version %d", got.State, got.Version)
	}
	if n := auditCount(t, s); n != before {
		t.Errorf("refused commit appended %d audit entries", n-before)
	}
	due, err := s.DueEvents(ctx, base.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].ID != "e1" {
		t.Errorf("outbox after refused commit = %v, want only e1", ids(due))
	}

	// And a good commit writes all three.
	err = s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: audit("case.receive", "c1"), Events: []storage.Event{fresh}})
	if err != nil {
		t.Fatal(err)
	}
	if n := auditCount(t, s); n != before+1 {
		t.Errorf("audit entries = %d, want %d", n, before+1)
	}
	due, _ = s.DueEvents(ctx, base.Add(time.Hour), 100)
	if !slices.Equal(ids(due), []string{"e1", "e2"}) {
		t.Errorf("outbox = %v, want [e1 e2]", ids(due))
	}
}

func ids(evs []storage.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func testCancelledWrite(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := storage.Event{ID: "e1", Type: "receipt_requested", CaseID: "c1", CreatedAt: base}
	err := s.CommitCase(ctx, &storage.CaseCommit{Case: sample("c1"), Audit: audit("case.register", "c1"), Events: []storage.Event{ev}})
	if err == nil {
		t.Fatal("commit with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want one wrapping context.Canceled", err)
	}
	if !errors.Is(err, kerr.Unavailable) {
		t.Errorf("err = %v, want kind Unavailable", err)
	}
	bg := context.Background()
	if _, err := s.GetCase(bg, "c1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("cancelled commit left a case: %v", err)
	}
	if n := auditCount(t, s); n != 0 {
		t.Errorf("cancelled commit left %d audit entries", n)
	}
	if due, _ := s.DueEvents(bg, base.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("cancelled commit left events %v", ids(due))
	}
	if err := s.PutCompany(ctx, &storage.Company{ID: "co1", Name: "x"}, audit("company.create", "")); !errors.Is(err, context.Canceled) {
		t.Errorf("PutCompany with cancelled ctx err = %v", err)
	}
	if _, err := s.GetCompany(bg, "co1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("cancelled PutCompany left a company: %v", err)
	}
}

func testConcurrentConflict(t *testing.T, s storage.Store) {
	commit(t, s, sample("c1"))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := sample("c1")
			c.Version = 1
			c.State = fmt.Sprintf("state-%d", i)
			errs[i] = s.CommitCase(context.Background(), &storage.CaseCommit{Case: c, Audit: audit("case.update", "c1"),
				Events: []storage.Event{{ID: fmt.Sprintf("ev-%d", i), Type: "t", CaseID: "c1", CreatedAt: base}}})
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("commits %d and %d both won", won, i)
			}
			won = i
		case !errors.Is(err, kerr.Conflict):
			t.Errorf("commit %d: err = %v, want Conflict", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no commit won")
	}
	got, err := s.GetCase(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.State != fmt.Sprintf("state-%d", won) {
		t.Errorf("case = version %d state %s, want version 2 state-%d", got.Version, got.State, won)
	}
	due, _ := s.DueEvents(context.Background(), base.Add(time.Hour), 100)
	if !slices.Equal(ids(due), []string{fmt.Sprintf("ev-%d", won)}) {
		t.Errorf("outbox = %v, want only the winner's event", ids(due))
	}
	if n := auditCount(t, s); n != 2 {
		t.Errorf("audit entries = %d, want 2", n)
	}
}

// testBulkLoader runs only for backends with the optional ability.
func testBulkLoader(t *testing.T, s storage.Store) {
	bl, ok := s.(storage.BulkLoader)
	if !ok {
		t.Skip("backend has no BulkLoader")
	}
	ctx := context.Background()
	commit(t, s, sample("c0"))
	batch := []*storage.Case{sample("c1"), sample("c2"), sample("c0")}
	if err := bl.ImportCases(ctx, batch, audit("case.import", "")); !errors.Is(err, kerr.Conflict) {
		t.Fatalf("batch with an existing ID: err = %v, want Conflict", err)
	}
	if _, err := s.GetCase(ctx, "c1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("a refused batch left c1 behind: %v", err)
	}
	batch = batch[:2]
	if err := bl.ImportCases(ctx, batch, audit("case.import", "")); err != nil {
		t.Fatal(err)
	}
	for _, want := range batch {
		if want.Version != 1 {
			t.Errorf("%s Version = %d, want 1", want.ID, want.Version)
		}
		got, err := s.GetCase(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameCase(t, got, want)
	}
	if got := searchAll(t, s, storage.CaseQuery{Counterparty: "co2", Sort: storage.SortName}); !slices.Equal(got, []string{"c0", "c1", "c2"}) {
		t.Errorf("imported cases not searchable: %v", got)
	}
	if err := bl.ImportCases(ctx, nil, audit("case.import", "")); !errors.Is(err, kerr.Invalid) {
		t.Errorf("empty batch: err = %v", err)
	}
}
