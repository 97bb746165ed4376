package keiyaku_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/keiyakutest"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// onFacadeBackends runs fn on a keiyakutest service on SQLite (the
// embedded default) and on a fresh PostgreSQL schema (skipped, or failed
// under CI, without KEIYAKU_POSTGRES_DSN).
func onFacadeBackends(t *testing.T, fn func(t *testing.T, env *keiyakutest.Env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, keiyakutest.NewService(t, nil)) })
	t.Run("postgres", func(t *testing.T) {
		st := postgresStore(t, "ko_")
		fn(t, keiyakutest.NewService(t, &keiyakutest.Options{Configure: func(cfg *keiyaku.Config) { cfg.Store = st }}))
	})
}

// newOperator creates a service operator through its first login and
// returns its principal.
func newOperator(t *testing.T, env *keiyakutest.Env, login string) account.Principal {
	t.Helper()
	ctx := context.Background()
	_, initial, err := env.Accounts.CreateOperator(ctx, account.NewUser{LoginID: login, Profile: storage.Profile{Name: "運営"}}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ss, err := env.Accounts.Login(ctx, login, initial, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pw := "op-" + rand.Text()
	if err := env.Accounts.ChangePassword(ctx, ss.Token, initial, pw, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if ss, err = env.Accounts.Login(ctx, login, pw, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	p, err := env.Accounts.Authenticate(ctx, ss.Token, "127.0.0.1")
	if err != nil || !p.Operator {
		t.Fatalf("operator principal %+v, %v", p, err)
	}
	return p
}

// completeCaseWithFile carries a real 1:1 contract from reg to party through to
// completion (signed, returned, sealed).
func completeCaseWithFile(t *testing.T, env *keiyakutest.Env, reg, party *keiyakutest.Person, name string) *casework.Case {
	t.Helper()
	ctx := context.Background()
	c, err := env.Cases.Register(ctx, reg.Principal, &casework.NewCase{
		Form: casework.FormBilateral, Name: name, Amount: casework.Money{Amount: 500_000, Currency: "JPY"},
		TransactionDate: civil.DateOf(keiyakutest.Now), Parties: []casework.Party{party.Party()},
		Document:    keiyakutest.Upload("contract.pdf", reg.Sign(t, keiyakutest.ContractPDF(name))),
		Supplements: []casework.Upload{keiyakutest.Upload("仕様書.txt", []byte("仕様 "+name))},
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	r, _, err := env.Cases.Receive(ctx, party.Principal, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Cases.Return(ctx, party.Principal, c.ID, keiyakutest.Upload("contract.pdf", party.Sign(t, sent))); err != nil {
		t.Fatalf("Return: %v", err)
	}
	if c, err = env.Cases.Complete(ctx, reg.Principal, c.ID); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return c
}

// importCases loads n completed cases (and, with state, others) between
// reg's and party's sides straight into the store, as a migration would:
// half with from as registrant, half with from as the party.
func importCases(t *testing.T, env *keiyakutest.Env, prefix string, n int, state string, from, other *keiyakutest.Person) []string {
	t.Helper()
	bl, ok := env.Store.(storage.BulkLoader)
	if !ok {
		t.Fatalf("store %T cannot bulk-load", env.Store)
	}
	var ids []string
	var batch []*storage.Case
	for i := range n {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		at := keiyakutest.Now.Add(-time.Duration(n-i) * time.Minute)
		reg, party := from, other
		if i%2 == 1 {
			reg, party = other, from
		}
		c := &storage.Case{ID: id, Form: casework.FormBilateral.String(), State: state, Category: casework.CategoryNew.String(),
			Name: "移行案件 " + id, OrderNumber: "PO-" + id, Amount: int64(1000 + i), Currency: "JPY",
			TransactionDate: civil.DateOf(at), RegistrantCompanyID: reg.Company.ID, RegistrantUserID: reg.Principal.UserID,
			Parties:   []storage.Party{{CompanyID: party.Company.ID, CompanyName: party.Company.Name, UserID: party.Principal.UserID, DoneAt: at}},
			Document:  storage.File{Name: "contract.pdf", ContentType: "application/pdf", Key: strings.Repeat("a", 64), Size: 100},
			CreatedAt: at, UpdatedAt: at}
		if state == casework.StateCompleted.String() {
			c.CompletedAt = at
		}
		batch = append(batch, c)
		ids = append(ids, id)
	}
	if err := bl.ImportCases(context.Background(), batch, []storage.AuditEntry{{Time: keiyakutest.Now, ActorUserID: "migration", Action: "case.import", Detail: prefix}}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// count pages through what p finds with q and returns how many cases.
func count(t *testing.T, env *keiyakutest.Env, p account.Principal, q casework.Query) int {
	t.Helper()
	n := 0
	q.Limit = storage.MaxPageSize
	for {
		page, err := env.Cases.Search(context.Background(), p, &q)
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		n += len(page.Cases)
		if page.Next == "" {
			return n
		}
		q.Cursor = page.Next
	}
}

var completedOnly = casework.Query{States: []casework.State{casework.StateCompleted}}

// TestMergerMovesCases: company A merges into company B. The operator
// moves every completed case of A's user to a user of B — a real sealed
// contract plus 1,000 migrated cases, half as registrant, half as party.
// Counts and searches on both sides, the audit entries of both sides,
// the old owner refused with kerr.NotFound, the new owner verifying the
// original, a retry moving nothing, and the cases that are not completed
// staying. Every refusal has its exact kind.
func TestMergerMovesCases(t *testing.T) {
	const migrated = 1000
	onFacadeBackends(t, func(t *testing.T, env *keiyakutest.Env) {
		ctx := context.Background()
		op := newOperator(t, env, "operator")
		a := env.NewCompany(t, "株式会社エー商事", "山田 太郎")
		b := env.NewCompany(t, "ビー産業株式会社", "佐藤 花子")
		c := env.NewCompany(t, "シー工業株式会社", "鈴木 一郎")
		a1 := env.NewUser(t, a, "営業 一")
		a2 := env.NewUser(t, a, "営業 二")
		b1 := env.NewUser(t, b, "購買 一")
		c1 := env.NewUser(t, c, "法務 一")

		real := completeCaseWithFile(t, env, a1, c1, "保守契約")
		importCases(t, env, "m", migrated, casework.StateCompleted.String(), a1, c1)
		open := importCases(t, env, "open", 3, casework.StateSent.String(), a1, c1)
		if err := env.Cases.Hide(ctx, a1.Principal, real.ID); err != nil {
			t.Fatal(err)
		}
		if n := count(t, env, a1.Principal, casework.Query{States: completedOnly.States, Hidden: casework.HiddenInclude}); n != migrated+1 {
			t.Fatalf("a1 sees %d completed cases before the merger, want %d", n, migrated+1)
		}

		// Refusals, before anything moves.
		refusals := []struct {
			name     string
			p        account.Principal
			from, to string
			want     kerr.Kind
		}{
			{"an ordinary user", a1.Principal, a1.Principal.UserID, a2.Principal.UserID, kerr.PermissionDenied},
			{"A's admin to another company", a.Admin.Principal, a1.Principal.UserID, b1.Principal.UserID, kerr.PermissionDenied},
			{"B's admin taking A's user", b.Admin.Principal, a1.Principal.UserID, b1.Principal.UserID, kerr.NotFound},
			{"C's admin, a counterparty", c.Admin.Principal, a1.Principal.UserID, c1.Principal.UserID, kerr.NotFound},
			{"operator to an unknown user", op, a1.Principal.UserID, "nobody", kerr.NotFound},
			{"operator to an operator", op, a1.Principal.UserID, op.UserID, kerr.Invalid},
			{"operator to the same user", op, a1.Principal.UserID, a1.Principal.UserID, kerr.Invalid},
			{"no principal", account.Principal{}, a1.Principal.UserID, b1.Principal.UserID, kerr.Unauthenticated},
		}
		for _, r := range refusals {
			if _, err := env.Cases.MoveUserCases(ctx, r.p, r.from, r.to); !errors.Is(err, r.want) {
				t.Errorf("%s: MoveUserCases err = %v, want %v", r.name, err, r.want)
			}
			if _, err := env.Cases.MoveCase(ctx, r.p, real.ID, r.from, r.to); !errors.Is(err, r.want) {
				t.Errorf("%s: MoveCase err = %v, want %v", r.name, err, r.want)
			}
		}
		if _, err := env.Cases.MoveCase(ctx, op, open[0], a1.Principal.UserID, b1.Principal.UserID); !errors.Is(err, kerr.FailedPrecondition) {
			t.Errorf("moving a case not completed: err = %v, want FailedPrecondition", err)
		}
		if _, err := env.Cases.MoveCase(ctx, op, real.ID, a1.Principal.UserID, c1.Principal.UserID); !errors.Is(err, kerr.FailedPrecondition) {
			t.Errorf("moving the registrant side to the counterparty: err = %v, want FailedPrecondition", err)
		}

		// The operator sees no contract content.
		if _, err := env.Cases.Get(ctx, op, real.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("operator Get: err = %v, want NotFound", err)
		}
		if _, err := env.VerifyOriginal(ctx, op, real.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("operator VerifyOriginal: err = %v, want NotFound", err)
		}
		if _, err := env.Cases.AuditTrail(ctx, op, real.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("operator AuditTrail: err = %v, want NotFound", err)
		}
		if _, _, err := env.Cases.Open(ctx, op, real.ID, real.Sealed[0].Key); !errors.Is(err, kerr.NotFound) {
			t.Errorf("operator Open: err = %v, want NotFound", err)
		}
		if _, err := env.Cases.Search(ctx, op, nil); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("operator Search: err = %v, want PermissionDenied", err)
		}
		if _, err := env.Cases.ExportCSV(ctx, op, nil, io.Discard); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("operator ExportCSV: err = %v, want PermissionDenied", err)
		}
		if _, err := env.Cases.Register(ctx, op, &casework.NewCase{}); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("operator Register: err = %v, want PermissionDenied", err)
		}
		opParty := casework.Party{CompanyID: op.CompanyID, UserID: op.UserID}
		if _, err := env.Cases.Register(ctx, a1.Principal, &casework.NewCase{
			Form: casework.FormBilateral, Name: "運営宛", Amount: casework.Money{Amount: 1, Currency: "JPY"},
			TransactionDate: civil.DateOf(keiyakutest.Now), Parties: []casework.Party{opParty},
			Document: keiyakutest.Upload("contract.pdf", a1.Sign(t, keiyakutest.ContractPDF("x"))),
		}); !errors.Is(err, kerr.Invalid) {
			t.Errorf("a case sent to the operator: err = %v, want Invalid", err)
		}

		// The merger.
		start := time.Now()
		rep, err := env.Cases.MoveUserCases(ctx, op, a1.Principal.UserID, b1.Principal.UserID)
		if err != nil || rep.Moved != migrated+1 {
			t.Fatalf("MoveUserCases = %+v, %v; want %d moved", rep, err, migrated+1)
		}
		t.Logf("moved %d cases in %v", rep.Moved, time.Since(start))
		again, err := env.Cases.MoveUserCases(ctx, op, a1.Principal.UserID, b1.Principal.UserID)
		if err != nil || again.Moved != 0 {
			t.Errorf("retry = %+v, %v; want nothing moved", again, err)
		}

		// Counts and searches on both sides.
		inc := casework.Query{States: completedOnly.States, Hidden: casework.HiddenInclude}
		for _, tc := range []struct {
			who  string
			p    account.Principal
			q    casework.Query
			want int
		}{
			{"old owner, completed", a1.Principal, inc, 0},
			{"old owner's admin, completed", a.Admin.Principal, inc, 0},
			{"old owner, not completed", a1.Principal, casework.Query{States: casework.IncompleteStates()}, len(open)},
			{"new owner", b1.Principal, completedOnly, migrated + 1},
			{"new owner's admin", b.Admin.Principal, completedOnly, migrated + 1},
			{"counterparty", c1.Principal, completedOnly, migrated + 1},
			{"new owner, cases where B is now the party", b1.Principal, casework.Query{States: completedOnly.States, Counterparty: b.Name}, migrated / 2},
			{"counterparty searching for B", c1.Principal, casework.Query{States: completedOnly.States, Counterparty: b.Name}, migrated / 2},
			{"counterparty searching for A", c1.Principal, casework.Query{States: completedOnly.States, Counterparty: a.Name}, 0},
		} {
			if n := count(t, env, tc.p, tc.q); n != tc.want {
				t.Errorf("%s: %d cases, want %d", tc.who, n, tc.want)
			}
		}

		// The old owner is refused; the new owner verifies the original.
		for name, p := range map[string]account.Principal{"old owner": a1.Principal, "old owner's admin": a.Admin.Principal} {
			if _, err := env.Cases.Get(ctx, p, real.ID); !errors.Is(err, kerr.NotFound) {
				t.Errorf("%s Get after the move: err = %v, want NotFound", name, err)
			}
			if _, err := env.VerifyOriginal(ctx, p, real.ID); !errors.Is(err, kerr.NotFound) {
				t.Errorf("%s VerifyOriginal after the move: err = %v, want NotFound", name, err)
			}
		}
		moved, err := env.Cases.Get(ctx, b1.Principal, real.ID)
		if err != nil || moved.RegistrantCompanyID != b.ID || moved.RegistrantUserID != b1.Principal.UserID || moved.Parties[0].UserID != c1.Principal.UserID {
			t.Fatalf("moved case = %+v, %v", moved, err)
		}
		oc, err := env.VerifyOriginal(ctx, b1.Principal, real.ID)
		if err != nil || !oc.Original {
			t.Fatalf("new owner's VerifyOriginal = %+v, %v", oc, err)
		}
		// The old owner's hidden mark stays its own: the new owner sees the
		// case in its default list.
		if hidden, err := env.Store.IsHidden(ctx, a1.Principal.UserID, real.ID); err != nil || !hidden {
			t.Errorf("old owner's hidden mark: %v, %v; want kept", hidden, err)
		}
		if hidden, err := env.Cases.IsHidden(ctx, b1.Principal, real.ID); err != nil || hidden {
			t.Errorf("new owner IsHidden = %v, %v; want false", hidden, err)
		}

		// Audit: both sides' entries on every case, naming from and to.
		trail, err := env.Cases.AuditTrail(ctx, b1.Principal, real.ID)
		if err != nil {
			t.Fatal(err)
		}
		var outs, ins int
		for _, e := range trail {
			switch e.Action {
			case casework.ActionMoveOut:
				outs++
			case casework.ActionMoveIn:
				ins++
			default:
				continue
			}
			if e.ActorUserID != op.UserID || !strings.Contains(e.Detail, a.ID) || !strings.Contains(e.Detail, a1.Principal.UserID) ||
				!strings.Contains(e.Detail, b.ID) || !strings.Contains(e.Detail, b1.Principal.UserID) || !strings.Contains(e.Detail, "registrant") {
				t.Errorf("move entry %+v does not name the operator, both companies and both users", e)
			}
		}
		if outs != 1 || ins != 1 {
			t.Errorf("real case: %d move-out and %d move-in entries, want 1 and 1", outs, ins)
		}
		total := map[string]int{}
		var after int64
		for {
			page, err := env.Store.ListAudit(ctx, after, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				total[e.Action]++
			}
			after = page[len(page)-1].Seq
		}
		// Refusals audited: 5 refused moves of a logged-in principal (the
		// user, A's admin, B's admin, C's admin, the operator to an unknown
		// user), each as MoveUserCases and MoveCase, and the operator's 7
		// attempts on content. Invalid input and a missing principal are
		// not refusals.
		if total[casework.ActionRefused] != 17 {
			t.Errorf("audit log: %d %s entries, want 17", total[casework.ActionRefused], casework.ActionRefused)
		}
		if total[casework.ActionMoveOut] != migrated+1 || total[casework.ActionMoveIn] != migrated+1 {
			t.Errorf("audit log: %d move-out, %d move-in entries; want %d each", total[casework.ActionMoveOut], total[casework.ActionMoveIn], migrated+1)
		}
		if n, err := env.Cases.VerifyAudit(ctx); err != nil || n == 0 {
			t.Errorf("VerifyAudit = %d, %v", n, err)
		}
	})
}

// TestMoveWithinCompany: a company administrator moves one completed case
// from a user who leaves to a colleague; access follows at once. A case
// already moved is kerr.NotFound on a retry of the single move.
func TestMoveWithinCompany(t *testing.T) {
	onFacadeBackends(t, func(t *testing.T, env *keiyakutest.Env) {
		ctx := context.Background()
		a := env.NewCompany(t, "株式会社エー商事", "山田 太郎")
		c := env.NewCompany(t, "シー工業株式会社", "鈴木 一郎")
		leaver := env.NewUser(t, a, "退職 予定")
		heir := env.NewUser(t, a, "後任 者")
		c1 := env.NewUser(t, c, "法務 一")
		kase := completeCaseWithFile(t, env, c1, leaver, "業務委託契約") // the leaver is the party
		if _, err := env.Cases.MoveCase(ctx, leaver.Principal, kase.ID, leaver.Principal.UserID, heir.Principal.UserID); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("user moving its own case: err = %v, want PermissionDenied", err)
		}
		if _, err := env.Cases.MoveCase(ctx, c.Admin.Principal, kase.ID, leaver.Principal.UserID, heir.Principal.UserID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("counterparty's admin moving A's side: err = %v, want NotFound", err)
		}
		if _, err := env.Cases.Get(ctx, heir.Principal, kase.ID); !errors.Is(err, kerr.NotFound) {
			t.Fatalf("heir sees the case before the move: %v", err)
		}
		got, err := env.Cases.MoveCase(ctx, a.Admin.Principal, kase.ID, leaver.Principal.UserID, heir.Principal.UserID)
		if err != nil || got.Parties[0].UserID != heir.Principal.UserID || got.Parties[0].CompanyName != a.Name {
			t.Fatalf("MoveCase = %+v, %v", got, err)
		}
		if _, err := env.Cases.Get(ctx, leaver.Principal, kase.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("leaver after the move: err = %v, want NotFound", err)
		}
		if _, err := env.VerifyOriginal(ctx, heir.Principal, kase.ID); err != nil {
			t.Errorf("heir VerifyOriginal: %v", err)
		}
		if _, err := env.Cases.Get(ctx, c1.Principal, kase.ID); err != nil {
			t.Errorf("registrant after the move: %v", err)
		}
		if n := count(t, env, heir.Principal, completedOnly); n != 1 {
			t.Errorf("heir lists %d cases, want 1", n)
		}
		if _, err := env.Cases.MoveCase(ctx, a.Admin.Principal, kase.ID, leaver.Principal.UserID, heir.Principal.UserID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("moving again: err = %v, want NotFound", err)
		}
		trail, err := env.Cases.AuditTrail(ctx, heir.Principal, kase.ID)
		if err != nil {
			t.Fatal(err)
		}
		moves := 0
		for _, e := range trail {
			if (e.Action == casework.ActionMoveOut || e.Action == casework.ActionMoveIn) && e.ActorUserID == a.Admin.Principal.UserID && strings.Contains(e.Detail, "party 1") {
				moves++
			}
		}
		if moves != 2 {
			t.Errorf("%d move entries by the admin naming party 1, want 2", moves)
		}
	})
}

// TestConcurrentMoves: two bulk moves of the same user's cases race
// (a retried request, two operators); every case moves exactly once —
// the version check lets one commit win, the other reloads and skips it —
// and neither call fails.
func TestConcurrentMoves(t *testing.T) {
	const n = 300
	onFacadeBackends(t, func(t *testing.T, env *keiyakutest.Env) {
		ctx := context.Background()
		op := newOperator(t, env, "operator")
		a := env.NewCompany(t, "株式会社エー商事", "山田 太郎")
		b := env.NewCompany(t, "ビー産業株式会社", "佐藤 花子")
		c := env.NewCompany(t, "シー工業株式会社", "鈴木 一郎")
		a1, b1, c1 := env.NewUser(t, a, "営業 一"), env.NewUser(t, b, "購買 一"), env.NewUser(t, c, "法務 一")
		importCases(t, env, "race", n, casework.StateCompleted.String(), a1, c1)
		type result struct {
			rep *casework.MoveReport
			err error
		}
		results := make(chan result, 2)
		for range 2 {
			go func() {
				rep, err := env.Cases.MoveUserCases(ctx, op, a1.Principal.UserID, b1.Principal.UserID)
				results <- result{rep, err}
			}()
		}
		moved := 0
		for range 2 {
			r := <-results
			if r.err != nil {
				t.Fatalf("MoveUserCases: %v", r.err)
			}
			moved += r.rep.Moved
		}
		if moved != n {
			t.Errorf("the two calls moved %d cases together, want %d (each exactly once)", moved, n)
		}
		outs := 0
		var after int64
		for {
			page, err := env.Store.ListAudit(ctx, after, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				if e.Action == casework.ActionMoveOut {
					outs++
				}
			}
			after = page[len(page)-1].Seq
		}
		if outs != n {
			t.Errorf("%d move-out entries, want %d", outs, n)
		}
		if got := count(t, env, b1.Principal, completedOnly); got != n {
			t.Errorf("new owner lists %d cases, want %d", got, n)
		}
	})
}
