package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func entry(action, caseID string) []storage.AuditEntry {
	return []storage.AuditEntry{{Time: t0, ActorUserID: "u1", ActorCompanyID: "co1", Action: action, CaseID: caseID}}
}

func newCase(id string) *storage.Case {
	return &storage.Case{ID: id, Form: "bilateral", State: "sent", Category: "new", Name: "契約 " + id, Currency: "JPY",
		RegistrantCompanyID: "co1", RegistrantUserID: "u1",
		Parties:   []storage.Party{{CompanyID: "co2", CompanyName: "株式会社サンプル", UserID: "u2"}},
		Document:  storage.File{Name: "c.pdf", Key: strings.Repeat("a", 64), Size: 10},
		CreatedAt: t0, UpdatedAt: t0}
}

func rawConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestOpenInvalid needs no server: Open checks its Config first.
func TestOpenInvalid(t *testing.T) {
	d := "postgres://keiyaku@127.0.0.1:1/none?sslmode=disable"
	tests := []struct {
		name string
		cfg  postgres.Config
	}{
		{"no DSN", postgres.Config{Schema: "kt_x"}},
		{"malformed DSN", postgres.Config{DSN: "postgres://%zz", Schema: "kt_x"}},
		{"upper-case schema", postgres.Config{DSN: d, Schema: "Keiyaku"}},
		{"quoted schema", postgres.Config{DSN: d, Schema: `a"; DROP SCHEMA public; --`}},
		{"schema starts with digit", postgres.Config{DSN: d, Schema: "1abc"}},
		{"system schema", postgres.Config{DSN: d, Schema: "pg_catalog"}},
		{"pg_ prefix", postgres.Config{DSN: d, Schema: "pg_keiyaku"}},
		{"schema too long", postgres.Config{DSN: d, Schema: strings.Repeat("a", 64)}},
		{"negative MaxConns", postgres.Config{DSN: d, Schema: "kt_x", MaxConns: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := postgres.Open(context.Background(), tt.cfg)
			if !errors.Is(err, kerr.Invalid) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("err = %v, want Invalid", err)
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on the loopback address: nothing listens, the refusal is
	// immediate.
	_, err := postgres.Open(ctx, postgres.Config{DSN: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5", Schema: "kt_none"})
	if !errors.Is(err, kerr.Unavailable) {
		t.Fatalf("err = %v, want Unavailable", err)
	}
}

func TestOpenCreatesSchemaAndReopens(t *testing.T) {
	t.Parallel()
	d := dsn(t)
	ctx := context.Background()
	schema := fmt.Sprintf("kt_open_%d", time.Now().UnixNano()%1e9)
	conn := rawConn(t)
	t.Cleanup(func() { _, _ = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	// Two concurrent Opens of a new schema: one creates and migrates, the
	// other waits for the migration lock and finds nothing to do.
	stores := make([]*postgres.Store, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, postgres.Config{DSN: d, Schema: schema}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
	}
	if err := stores[0].PutCompany(ctx, &storage.Company{ID: "co1", Name: "A"}, entry("company.create", "")); err != nil {
		t.Fatal(err)
	}
	if c, err := stores[1].GetCompany(ctx, "co1"); err != nil || c.Name != "A" {
		t.Errorf("second store sees %+v, %v", c, err)
	}
	stores[0].Close()
	stores[1].Close()
	s, err := postgres.Open(ctx, postgres.Config{DSN: d, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.GetCompany(ctx, "co1"); err != nil || c.Name != "A" {
		t.Errorf("after reopen: %+v, %v", c, err)
	}
	// Every migration file is applied once, however often the store opens.
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.goose_db_version WHERE version_id > 0`).Scan(&n); err != nil || n != len(files) {
		t.Errorf("goose recorded %d migrations (%v), want %d", n, err, len(files))
	}
}

func TestClosedStore(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.GetCase(ctx, "c1"); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("GetCase after Close: err = %v", err)
	}
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: newCase("c1"), Audit: entry("x", "c1")}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("CommitCase after Close: err = %v", err)
	}
}

func TestAuditTamperDetected(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	for i := range 3 {
		e := []storage.AuditEntry{{Time: t0.Add(time.Duration(i) * time.Second), ActorUserID: "u1", Action: "case.register", Detail: "d"}}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	conn := rawConn(t)
	audit := s.Schema() + ".audit"
	for _, stmt := range []string{
		`UPDATE ` + audit + ` SET detail = 'x' WHERE seq = 2`,
		`DELETE FROM ` + audit + ` WHERE seq = 3`,
		`TRUNCATE ` + audit,
	} {
		if _, err := conn.Exec(ctx, stmt); err == nil {
			t.Errorf("the database allowed %q", stmt)
		}
	}
	if n, err := storage.VerifyChain(ctx, s); err != nil || n != 3 {
		t.Fatalf("VerifyChain = %d, %v", n, err)
	}
	// Someone with the owner's rights drops the trigger and edits an entry.
	if _, err := conn.Exec(ctx, `DROP TRIGGER audit_no_change ON `+audit); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE `+audit+` SET detail = 'forged' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.VerifyChain(ctx, s); !errors.Is(err, storage.ErrChainBroken) {
		t.Errorf("VerifyChain after tampering: err = %v, want ErrChainBroken", err)
	}
}

// TestConcurrentWritersOneChain runs independent writers at once (cases,
// companies, plain audit appends); the chain must come out gapless and
// valid, with every entry present.
func TestConcurrentWritersOneChain(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	const workers, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("c%d-%d", w, i)
				c := newCase(id)
				if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: entry("case.register", id)}); err != nil {
					errs <- err
				}
				c.State = "received"
				if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: append(entry("case.receive", id), entry("case.download", id)...)}); err != nil {
					errs <- err
				}
				if err := s.AppendAudit(ctx, entry("account.login-failed", "")); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := storage.VerifyChain(ctx, s)
	if err != nil || n != workers*each*4 {
		t.Errorf("VerifyChain = %d, %v; want %d entries", n, err, workers*each*4)
	}
}

// TestConcurrentClaims checks that workers claiming at the same moment get
// disjoint events and together all of them.
func TestConcurrentClaims(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	var evs []storage.Event
	for i := range 40 {
		evs = append(evs, storage.Event{ID: fmt.Sprintf("e%02d", i), Type: "t", CaseID: "c1", CreatedAt: t0.Add(time.Duration(i))})
	}
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: newCase("c1"), Audit: entry("case.register", "c1"), Events: evs}); err != nil {
		t.Fatal(err)
	}
	const workers = 4
	got := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				claimed, err := s.ClaimEvents(ctx, t0.Add(time.Minute), time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(claimed) == 0 {
					return
				}
				for _, ev := range claimed {
					got[w] = append(got[w], ev.ID)
				}
			}
		})
	}
	wg.Wait()
	var all []string
	for _, g := range got {
		all = append(all, g...)
	}
	slices.Sort(all)
	var want []string
	for _, ev := range evs {
		want = append(want, ev.ID)
	}
	if !slices.Equal(all, want) {
		t.Errorf("claimed %v\nwant each of %v exactly once", all, want)
	}
}

// TestUnstorableText covers what PostgreSQL text cannot hold: NUL bytes and
// invalid UTF-8 are refused as kerr.Invalid on write and in filters, and
// name no record on read.
func TestUnstorableText(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: newCase("c1"), Audit: entry("case.register", "c1")}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"a\x00b", "a\xffb"} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			c := newCase("c2")
			c.Name = bad
			if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: entry("case.register", "c2")}); !errors.Is(err, kerr.Invalid) {
				t.Errorf("CommitCase: err = %v, want Invalid", err)
			}
			if _, err := s.GetCase(ctx, "c2"); !errors.Is(err, kerr.NotFound) {
				t.Errorf("refused case stored: %v", err)
			}
			e := entry("x", "")
			e[0].Detail = bad
			if err := s.AppendAudit(ctx, e); !errors.Is(err, kerr.Invalid) {
				t.Errorf("AppendAudit: err = %v, want Invalid", err)
			}
			for _, q := range []storage.CaseQuery{{NameContains: bad}, {Counterparty: bad}, {States: []string{"sent", bad}}, {Scope: storage.Scope{CompanyID: bad}}} {
				if _, err := s.SearchCases(ctx, &q); !errors.Is(err, kerr.Invalid) {
					t.Errorf("SearchCases(%+v): err = %v, want Invalid", q, err)
				}
			}
			if _, err := s.GetCase(ctx, bad); !errors.Is(err, kerr.NotFound) {
				t.Errorf("GetCase: err = %v, want NotFound", err)
			}
			if _, err := s.GetUserByLogin(ctx, bad); !errors.Is(err, kerr.NotFound) {
				t.Errorf("GetUserByLogin: err = %v, want NotFound", err)
			}
			if err := s.MarkDelivered(ctx, bad, t0); !errors.Is(err, kerr.NotFound) {
				t.Errorf("MarkDelivered: err = %v, want NotFound", err)
			}
			if got, err := s.ListAudit(ctx, 0, bad, 10); err != nil || len(got) != 0 {
				t.Errorf("ListAudit = %v, %v; want none", got, err)
			}
		})
	}
	if n, err := storage.VerifyChain(ctx, s); err != nil || n != 1 {
		t.Errorf("VerifyChain = %d, %v; refused writes must leave the chain alone", n, err)
	}
}

// TestNanosecondTimes checks that times come back exactly, to the
// nanosecond, as the audit hash and search cursors need.
func TestNanosecondTimes(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		c := newCase(fmt.Sprintf("n%d", i))
		c.UpdatedAt = t0.Add(time.Duration(3-i) * time.Nanosecond) // n2 < n1 < n0 by a nanosecond each
		ids = append(ids, c.ID)
		if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: entry("case.register", c.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	q := storage.CaseQuery{Limit: 1}
	for {
		page, err := s.SearchCases(ctx, &q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Cases {
			got = append(got, c.ID)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if !slices.Equal(got, []string{"n2", "n1", "n0"}) {
		t.Errorf("order by UpdatedAt = %v, want [n2 n1 n0]", got)
	}
}

// TestConcurrentCreates checks the create paths under contention: of
// writers creating the same case, or taking the same login ID, exactly one
// wins and the others get kerr.Conflict.
func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := context.Background()
	if err := s.PutCompany(ctx, &storage.Company{ID: "co1", Name: "A"}, entry("company.create", "")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		write func(i int) error
	}{
		{"same case ID", func(i int) error {
			c := newCase("c1")
			c.Name = fmt.Sprint(i)
			return s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: entry("case.register", "c1")})
		}},
		{"same login ID", func(i int) error {
			return s.PutUser(ctx, &storage.User{ID: fmt.Sprintf("u%d", i), CompanyID: "co1", LoginID: "taro"}, entry("user.create", ""))
		}},
		{"same session", func(i int) error {
			return s.PutSession(ctx, &storage.Session{TokenHash: strings.Repeat("c", 64), UserID: fmt.Sprintf("u%d", i)}, entry("account.login", ""))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 6
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = tt.write(i) })
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, kerr.Conflict):
					t.Errorf("writer %d: err = %v, want Conflict", i, err)
				}
			}
			if won != 1 {
				t.Errorf("%d writers won, want exactly 1", won)
			}
		})
	}
	if _, err := storage.VerifyChain(ctx, s); err != nil {
		t.Error(err)
	}
}
