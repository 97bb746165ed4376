package casework_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func TestBilateralLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	orig := sign(pdf("業務委託契約書"), "co1")
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, orig))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != casework.StateSent || c.Version != 1 || c.TransactionDate.String() != "2026-03-31" {
		t.Fatalf("after register: state %s version %d date %s", c.State, c.Version, c.TransactionDate)
	}
	got := receive(t, e, u2, c.ID)
	if !bytes.Equal(got, orig) {
		t.Fatal("received bytes differ from the registered document")
	}
	signed := sign(got, "co2")
	c, err = e.svc.Return(ctx, u2, c.ID, upload(signed))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != casework.StateReturned || c.Parties[0].DoneAt.IsZero() || c.Document.Size != int64(len(signed)) {
		t.Fatalf("after return: %+v", c)
	}
	c, err = e.svc.Complete(ctx, u1, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != casework.StateCompleted || c.CompletedAt.IsZero() || len(c.Sealed) != 3 { // sealed PDF, its record, the supplement's record
		t.Fatalf("after complete: state %s sealed %d", c.State, len(c.Sealed))
	}
	r, f, err := e.svc.Open(ctx, u2, c.ID, c.Sealed[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.HasPrefix(sealed, signed) || !bytes.Contains(sealed, []byte("%%SEAL ")) || f.Name != "signed.sealed.pdf" {
		t.Errorf("sealed PDF %q (%s) does not extend the signed one: %v", sealed, f.Name, err)
	}
	want := []string{"receipt_requested>u2/en", "returned>u1/ja", "completed>u2/en"}
	if got := events(t, e); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
	evs, _ := e.store.DueEvents(ctx, e.now.AddDate(1, 0, 0), 10)
	if ev := evs[0]; ev.CaseName != "業務委託契約" || ev.OrderNumber != "PO-1" || ev.RecipientEmail != "u2@example.jp" ||
		ev.RecipientName != "User u2" || ev.RecipientCompany != "株式会社アルファ" || ev.FromCompany != "会社1" || ev.FromUser != "User u1" {
		t.Errorf("receipt notice fields = %+v", ev)
	}
	if _, err := e.svc.Complete(ctx, u1, c.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("completing twice: err = %v, want FailedPrecondition", err)
	}
	if _, err := e.svc.Delete(ctx, u1, c.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("deleting a completed case: err = %v, want FailedPrecondition", err)
	}
	entries, err := e.store.ListAudit(ctx, 0, c.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action+"@"+en.ActorUserID)
	}
	wantActions := []string{"case.register@u1", "case.receive@u2", "case.return@u2", "case.complete@u1", "case.download@u2"}
	if !slices.Equal(actions, wantActions) {
		t.Errorf("audit = %v, want %v", actions, wantActions)
	}
	if entries[0].RemoteAddr != "192.0.2.1" || entries[1].RemoteAddr != "198.51.100.2" {
		t.Errorf("audit addresses = %q, %q", entries[0].RemoteAddr, entries[1].RemoteAddr)
	}
	trail, err := e.svc.AuditTrail(ctx, u2, c.ID)
	if err != nil || len(trail) != len(entries) {
		t.Errorf("AuditTrail = %d entries, %v", len(trail), err)
	}
	if _, err := e.svc.AuditTrail(ctx, u3, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("outsider AuditTrail: err = %v", err)
	}
	if n, err := e.svc.VerifyAudit(ctx); err != nil || n < 5 {
		t.Errorf("VerifyAudit = %d, %v", n, err)
	}
}

func TestMultiPartyInTurn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	doc := sign(pdf("三者間契約書"), "co1")
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormMultiParty, doc, partyCo2, partyCo3, partyCo4))
	if err != nil {
		t.Fatal(err)
	}
	order := []account.Principal{u2, u3, u4}
	for i, p := range order {
		// Parties not on turn see the case but may not act.
		for j, other := range order {
			if j == i {
				continue
			}
			if _, _, err := e.svc.Receive(ctx, other, c.ID); !errors.Is(err, kerr.PermissionDenied) {
				t.Errorf("turn %d: %s receiving: err = %v, want PermissionDenied", i, other.UserID, err)
			}
		}
		got := receive(t, e, p, c.ID)
		c, err = e.svc.Return(ctx, p, c.ID, upload(sign(got, p.CompanyID)))
		if err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		wantState, wantTurn := casework.StateSent, i+1
		if i == len(order)-1 {
			wantState, wantTurn = casework.StateReturned, i
		}
		if c.State != wantState || c.Turn != wantTurn {
			t.Fatalf("after return %d: state %s turn %d, want %s %d", i, c.State, c.Turn, wantState, wantTurn)
		}
	}
	if _, err := e.svc.Get(ctx, u3, c.ID); err != nil {
		t.Errorf("a party must still see the case after its turn: %v", err)
	}
	if _, err := e.svc.Complete(ctx, u2, c.ID); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("a party completing: err = %v, want PermissionDenied", err)
	}
	c, err = e.svc.Complete(ctx, u1, c.ID)
	if err != nil || c.State != casework.StateCompleted {
		t.Fatalf("complete: %v", err)
	}
	want := []string{"receipt_requested>u2/en", "receipt_requested>u3/en", "receipt_requested>u4/ja", "returned>u1/ja",
		"completed>u2/en", "completed>u3/en", "completed>u4/ja"}
	if got := events(t, e); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

func TestSendBackAndResend(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("v1"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	receive(t, e, u2, c.ID)
	if _, err := e.svc.SendBack(ctx, u2, c.ID, "  "); !errors.Is(err, kerr.Invalid) {
		t.Errorf("blank reason: err = %v", err)
	}
	c, err = e.svc.SendBack(ctx, u2, c.ID, "金額が見積と違います")
	if err != nil || c.State != casework.StateSentBack || c.Reason != "金額が見積と違います" {
		t.Fatalf("send back: %v, %+v", err, c)
	}
	if _, err := e.svc.Resend(ctx, u2, c.ID, nil); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("party resending: err = %v, want PermissionDenied", err)
	}
	v2 := sign(pdf("v2"), "co1")
	up := casework.Upload{Name: "v2.pdf", Body: bytes.NewReader(v2)}
	c, err = e.svc.Resend(ctx, u1, c.ID, &up)
	if err != nil || c.State != casework.StateSent || c.Reason != "" || c.Document.Name != "v2.pdf" {
		t.Fatalf("resend: %v, %+v", err, c)
	}
	if got := receive(t, e, u2, c.ID); !bytes.Equal(got, v2) {
		t.Error("the corrected document was not sent")
	}
	// The registrant may also send back (withdraw) a case it sent.
	c, err = e.svc.SendBack(ctx, u1, c.ID, "添付漏れ")
	if err != nil || c.State != casework.StateSentBack {
		t.Fatalf("registrant send back: %v", err)
	}
	want := []string{"receipt_requested>u2/en", "sent_back>u1/ja", "receipt_requested>u2/en", "sent_back>u2/en"}
	if got := events(t, e); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
	evs, _ := e.store.DueEvents(ctx, e.now.AddDate(1, 0, 0), 10)
	if evs[1].Reason != "金額が見積と違います" || evs[1].ActorUserID != "u2" {
		t.Errorf("sent-back event = %+v", evs[1])
	}
}

func TestSendOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormSendOnly, pdf("見積書 (unsigned)")))
	if err != nil {
		t.Fatal(err)
	}
	receive(t, e, u2, c.ID)
	if _, err := e.svc.Return(ctx, u2, c.ID, upload(sign(pdf("x"), "co2"))); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("return of a send-only case: err = %v", err)
	}
	if _, err := e.svc.Acknowledge(ctx, u1, c.ID); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("registrant acknowledging: err = %v", err)
	}
	c, err = e.svc.Acknowledge(ctx, u2, c.ID)
	if err != nil || c.State != casework.StateCompleted || c.CompletedAt.IsZero() {
		t.Fatalf("acknowledge: %v, %+v", err, c)
	}
	want := []string{"receipt_requested>u2/en", "acknowledged>u1/ja"}
	if got := events(t, e); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

func TestOrderAcceptanceSeparate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormOrderAcceptance, sign(pdf("注文書"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	receive(t, e, u2, c.ID)
	if _, err := e.svc.Return(ctx, u2, c.ID, upload(pdf("請書 unsigned"))); !errors.Is(err, kerr.Invalid) {
		t.Errorf("unsigned acceptance: err = %v, want Invalid", err)
	}
	acc := sign(pdf("請書"), "co2")
	c, err = e.svc.Return(ctx, u2, c.ID, upload(acc))
	if err != nil || c.State != casework.StateReturned || c.Acceptance.Size != int64(len(acc)) {
		t.Fatalf("return acceptance: %v %+v", err, c)
	}
	c, err = e.svc.Complete(ctx, u1, c.ID)
	if err != nil || len(c.Sealed) != 5 { // order, acceptance, a record for each and for one supplement
		t.Fatalf("complete: %v, sealed %d", err, len(c.Sealed))
	}
}

// TestReturnRefused: every bad return is refused and leaves the case as it
// was and no blob behind, whether it was checked in memory or (the large
// variant) spooled to a temporary file.
func TestReturnRefused(t *testing.T) {
	for _, pad := range []int{0, storage.MemoryBlob} {
		t.Run(fmt.Sprintf("pad=%d", pad), func(t *testing.T) {
			testReturnRefused(t, sign(pdf("契約書 第1条 金額 100万円\n"+strings.Repeat("x", pad)), "co1"))
		})
	}
}

func testReturnRefused(t *testing.T, orig []byte) {
	tests := []struct {
		name string
		make func(sent []byte) []byte
		code string // kerr.Coded code of the refusal
	}{
		{"content changed", func(sent []byte) []byte {
			return sign(bytes.Replace(sent, []byte("100万円"), []byte("900万円"), 1), "co2")
		}, "return.edited"},
		{"same bytes", func(sent []byte) []byte { return sent }, "return.notextension"},
		{"truncated", func(sent []byte) []byte { return sent[:len(sent)-5] }, "return.notextension"},
		{"content appended besides the signature", func(sent []byte) []byte {
			return sign(append(bytes.Clone(sent), "追記: 免責\n"...), "co2")
		}, "return.changes"},
		{"no new signature", func(sent []byte) []byte { return append(bytes.Clone(sent), '\n') }, "return.changes"},
		{"broken signature", func(sent []byte) []byte {
			return append(bytes.Clone(sent), "%%SIG co2 0000\n"...)
		}, "upload.signaturefailed"},
		{"not a PDF", func(sent []byte) []byte { return []byte("hello") }, "return.notextension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, orig))
			if err != nil {
				t.Fatal(err)
			}
			sent := receive(t, e, u2, c.ID)
			before, _ := e.svc.Get(ctx, u2, c.ID)
			blobsBefore := countBlobs(t, e)
			_, err = e.svc.Return(ctx, u2, c.ID, upload(tt.make(sent)))
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if c := kerr.CodeOf(err); c == nil || c.Code != tt.code {
				t.Errorf("err = %v, want message code %s", err, tt.code)
			}
			after, _ := e.svc.Get(ctx, u2, c.ID)
			if after.Version != before.Version || after.State != casework.StateReceived || after.Document != before.Document {
				t.Errorf("a refused return changed the case: %+v", after.State)
			}
			if n := countBlobs(t, e); n != blobsBefore {
				t.Errorf("a refused return left %d blob(s) behind", n-blobsBefore)
			}
			if left, _ := os.ReadDir(e.tmp); len(left) != 0 {
				t.Errorf("a refused return left %d temporary file(s)", len(left))
			}
		})
	}
}

func countBlobs(t *testing.T, e *env) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.dir, "sha256"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

// TestLargeDocumentLifecycle: a contract larger than storage.MemoryBlob is
// spooled to a temporary file, checked there, stored and sealed, and the
// temporary file is gone afterwards.
func TestLargeDocumentLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	orig := sign(pdf("図面付き契約書\n"+strings.Repeat("図", storage.MemoryBlob/3+1)), "co1")
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, orig))
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, e, u2, c.ID)
	if !bytes.Equal(got, orig) {
		t.Fatal("received bytes differ from the registered document")
	}
	signed := sign(got, "co2")
	if c, err = e.svc.Return(ctx, u2, c.ID, upload(signed)); err != nil {
		t.Fatal(err)
	}
	if c.Document.Size != int64(len(signed)) || c.Document.Size <= storage.MemoryBlob {
		t.Fatalf("returned document size %d", c.Document.Size)
	}
	if c, err = e.svc.Complete(ctx, u1, c.ID); err != nil {
		t.Fatal(err)
	}
	r, _, err := e.svc.Open(ctx, u1, c.ID, c.Sealed[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.HasPrefix(sealed, signed) || !bytes.Contains(sealed[len(signed):], []byte("%%SEAL ")) {
		t.Fatalf("sealed document does not extend the returned one: %v", err)
	}
	if left, _ := os.ReadDir(e.tmp); len(left) != 0 {
		t.Errorf("%d temporary file(s) left in TempDir", len(left))
	}
}

func TestRegisterRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	signed := sign(pdf("c"), "co1")
	open, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, signed))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		p      account.Principal
		mutate func(nc *casework.NewCase)
		want   kerr.Kind
	}{
		{"unsigned", u1, func(nc *casework.NewCase) { nc.Document.Body = bytes.NewReader(pdf("c")) }, kerr.Invalid},
		{"invalid signature", u1, func(nc *casework.NewCase) {
			nc.Document.Body = bytes.NewReader(append(pdf("c"), "%%SIG co1 beef\n"...))
		}, kerr.Invalid},
		{"sixth supplement", u1, func(nc *casework.NewCase) {
			for range 5 {
				nc.Supplements = append(nc.Supplements, casework.Upload{Name: "more.txt", Body: strings.NewReader("x")})
			}
		}, kerr.Invalid},
		{"tenth party", u1, func(nc *casework.NewCase) {
			nc.Form = casework.FormMultiParty
			nc.Parties = nil
			for i := range 10 {
				nc.Parties = append(nc.Parties, casework.Party{CompanyID: "c" + string(rune('a'+i)), CompanyName: "n", UserID: "x"})
			}
		}, kerr.Invalid},
		{"one party multi", u1, func(nc *casework.NewCase) { nc.Form = casework.FormMultiParty }, kerr.Invalid},
		{"two parties bilateral", u1, func(nc *casework.NewCase) { nc.Parties = append(nc.Parties, partyCo3) }, kerr.Invalid},
		{"own company as party", u1, func(nc *casework.NewCase) { nc.Parties[0].CompanyID = "co1" }, kerr.Invalid},
		{"no name", u1, func(nc *casework.NewCase) { nc.Name = "" }, kerr.Invalid},
		{"long name", u1, func(nc *casework.NewCase) { nc.Name = strings.Repeat("契", casework.MaxNameLen+1) }, kerr.Invalid},
		{"bad currency", u1, func(nc *casework.NewCase) { nc.Amount.Currency = "yen" }, kerr.Invalid},
		{"negative amount", u1, func(nc *casework.NewCase) { nc.Amount.Amount = -1 }, kerr.Invalid},
		{"no date", u1, func(nc *casework.NewCase) { nc.TransactionDate = civil.Date{} }, kerr.Invalid},
		{"oversize document", u1, func(nc *casework.NewCase) {
			nc.Document.Body = io.MultiReader(bytes.NewReader(signed), io.LimitReader(zeros{}, casework.MaxDocumentSize))
		}, kerr.Invalid},
		{"oversize supplement", u1, func(nc *casework.NewCase) {
			nc.Supplements[0].Body = io.LimitReader(zeros{}, casework.MaxSupplementSize+1)
		}, kerr.Invalid},
		{"change without original", u1, func(nc *casework.NewCase) { nc.Category = casework.CategoryChange }, kerr.Invalid},
		{"new with original", u1, func(nc *casework.NewCase) { nc.OriginalID = open.ID }, kerr.Invalid},
		{"original not completed", u1, func(nc *casework.NewCase) {
			nc.Category, nc.OriginalID = casework.CategoryChange, open.ID
		}, kerr.FailedPrecondition},
		{"original not visible", u4, func(nc *casework.NewCase) {
			nc.Category, nc.OriginalID = casework.CategoryChange, open.ID
		}, kerr.NotFound},
		{"no principal", account.Principal{}, func(nc *casework.NewCase) {}, kerr.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := newCase(casework.FormBilateral, signed)
			tt.mutate(nc)
			if _, err := e.svc.Register(ctx, tt.p, nc); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	page, err := e.svc.Search(ctx, admin1, nil)
	if err != nil || len(page.Cases) != 1 {
		t.Errorf("refused registrations left cases behind: %d, %v", len(page.Cases), err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("c"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []account.Principal{u1b, u3, out, {UserID: "u2x", CompanyID: "co2"}} {
		if _, err := e.svc.Get(ctx, p, c.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("%s/%s sees the case: err = %v", p.CompanyID, p.UserID, err)
		}
		if _, err := e.svc.Delete(ctx, p, c.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("%s/%s deleting: err = %v, want NotFound", p.CompanyID, p.UserID, err)
		}
	}
	if _, err := e.svc.Get(ctx, account.Principal{}, c.ID); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("no principal: err = %v", err)
	}
	if _, err := e.svc.Delete(ctx, u2, c.ID); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("party deleting: err = %v, want PermissionDenied", err)
	}
	// The counterparty company's administrator acts for its user.
	if _, _, err := e.svc.Receive(ctx, admin2, c.ID); err != nil {
		t.Errorf("party admin receiving: %v", err)
	}
	// The registrant company's administrator acts for the registrant.
	c, err = e.svc.Delete(ctx, admin1, c.ID)
	if err != nil || c.State != casework.StateDeleted {
		t.Fatalf("admin delete: %v", err)
	}
	if got := events(t, e); !slices.Equal(got, []string{"receipt_requested>u2/en", "deleted>u2/en"}) {
		t.Errorf("outbox = %v", got)
	}
}

func TestConcurrentActionsOneWins(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("c"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	sent := receive(t, e, u2, c.ID)
	// The return reads the case, then waits in validation while the
	// registrant deletes the case; its commit must then lose.
	gate := make(chan struct{})
	e.val.mu.Lock()
	e.val.gate = gate
	e.val.mu.Unlock()
	done := make(chan error)
	go func() {
		_, err := e.svc.Return(ctx, u2, c.ID, upload(sign(sent, "co2")))
		done <- err
	}()
	for {
		e.val.mu.Lock()
		n := e.val.calls
		e.val.mu.Unlock()
		if n == 2 { // register + the waiting return
			break
		}
		select {
		case err := <-done:
			t.Fatalf("return finished before validation: %v", err)
		default:
		}
	}
	if _, err := e.svc.Delete(ctx, u1, c.ID); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := <-done; !errors.Is(err, kerr.Conflict) {
		t.Fatalf("losing return: err = %v, want Conflict", err)
	}
	got, _ := e.svc.Get(ctx, u1, c.ID)
	if got.State != casework.StateDeleted {
		t.Errorf("state = %s, want deleted", got.State)
	}
}

func TestRelatedCases(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("a"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	sent := receive(t, e, u2, a.ID)
	if _, err := e.svc.Return(ctx, u2, a.ID, upload(sign(sent, "co2"))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Complete(ctx, u1, a.ID); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, cat := range []casework.Category{casework.CategoryChange, casework.CategoryCancellation} {
		nc := newCase(casework.FormBilateral, sign(pdf("b"), "co1"))
		nc.Category, nc.OriginalID = cat, a.ID
		b, err := e.svc.Register(ctx, u1, nc)
		if err != nil {
			t.Fatal(err)
		}
		if b.OriginalID != a.ID {
			t.Errorf("OriginalID = %q", b.OriginalID)
		}
		kids = append(kids, b.ID)
	}
	for _, p := range []account.Principal{u1, u2} {
		rel, err := e.svc.Related(ctx, p, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rel {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, kids) {
			t.Errorf("Related as %s = %v, want %v", p.UserID, got, kids)
		}
	}
	if _, err := e.svc.Related(ctx, u3, a.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("outsider Related: err = %v", err)
	}
}

func TestSearchAndExport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk := func(p account.Principal, name string, amount int64, party casework.Party) *casework.Case {
		nc := newCase(casework.FormBilateral, sign(pdf(name), p.CompanyID), party)
		nc.Name, nc.Amount.Amount = name, amount
		c, err := e.svc.Register(ctx, p, nc)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := mk(u1, "=HYPERLINK(\"x\")", 100, partyCo2)
	b := mk(u1b, "保守契約", 200, partyCo3)
	mk(u4, "他社の契約", 300, partyCo3)
	if _, err := e.svc.Delete(ctx, u1b, b.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    account.Principal
		q    casework.Query
		want []string
	}{
		{"own cases", u1, casework.Query{}, []string{a.ID}},
		{"admin sees company, not deleted", admin1, casework.Query{}, []string{a.ID}},
		{"admin asks for deleted", admin1, casework.Query{States: []casework.State{casework.StateDeleted}}, []string{b.ID}},
		{"party sees it", u2, casework.Query{}, []string{a.ID}},
		{"amount filter", admin1, casework.Query{States: casework.IncompleteStates(), AmountMin: ptr(150)}, nil},
		{"other company", out, casework.Query{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.svc.Search(ctx, tt.p, &tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range page.Cases {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	var buf bytes.Buffer
	n, err := e.svc.ExportCSV(ctx, admin1, &casework.Query{States: append(casework.IncompleteStates(), casework.StateDeleted), Sort: storage.SortAmount}, &buf)
	if err != nil || n != 2 {
		t.Fatalf("ExportCSV = %d, %v", n, err)
	}
	rows, enc, err := casework.ReadAsExcel(buf.Bytes())
	if err != nil || enc != "utf-8-bom" {
		t.Fatalf("Excel reads the export as %s: %v", enc, err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], casework.CSVHeader) {
		t.Fatalf("rows = %q", rows)
	}
	if rows[1][0] != a.ID || rows[1][5] != "'=HYPERLINK(\"x\")" || rows[1][7] != "株式会社アルファ" || rows[1][8] != "100" || rows[1][9] != "JPY" || rows[1][10] != "2026-03-31" || rows[1][13] != "Asia/Tokyo" {
		t.Errorf("first row = %q", rows[1])
	}
	if rows[2][0] != b.ID || rows[2][2] != "deleted" {
		t.Errorf("second row = %q", rows[2])
	}
}

func ptr(v int64) *int64 { return &v }

func TestTamperedBlobDetected(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("原本"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, "sha256", c.Document.Key)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-2] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r, _, err := e.svc.Receive(ctx, u2, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	r.Close()
	if !errors.Is(err, storage.ErrBlobCorrupt) {
		t.Errorf("reading a tampered document: err = %v, want ErrBlobCorrupt", err)
	}
}

func TestCancelledActionLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("c"), "co1"))); !errors.Is(err, context.Canceled) {
		t.Fatalf("Register with a cancelled context: err = %v", err)
	}
	bg := context.Background()
	c, err := e.svc.Register(bg, u1, newCase(casework.FormBilateral, sign(pdf("c"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Delete(ctx, u1, c.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with a cancelled context: err = %v", err)
	}
	got, err := e.svc.Get(bg, u1, c.ID)
	if err != nil || got.State != casework.StateSent || got.Version != 1 {
		t.Errorf("case after a cancelled delete: %+v, %v", got, err)
	}
	page, err := e.svc.Search(bg, admin1, nil)
	if err != nil || len(page.Cases) != 1 {
		t.Errorf("cases = %d, %v; want only the one registered with a live context", len(page.Cases), err)
	}
	if got := events(t, e); !slices.Equal(got, []string{"receipt_requested>u2/en"}) {
		t.Errorf("outbox = %v", got)
	}
}
