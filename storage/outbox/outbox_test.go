package outbox_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/outbox"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// captureMailer records mails; the second mail to bounce@ fails
// temporarily once.
type captureMailer struct {
	mu     sync.Mutex
	mails  []notify.Mail
	failed bool
}

func (m *captureMailer) Send(ctx context.Context, mail notify.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if strings.HasPrefix(mail.To, "flaky@") && !m.failed {
		m.failed = true
		return errors.New("451 try again later")
	}
	m.mails = append(m.mails, mail)
	return nil
}

func TestWorkerDeliversStoredEvents(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "o.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	c := &storage.Case{ID: "c1", Form: "bilateral", State: "sent", Category: "new", Name: "保守契約", Currency: "JPY",
		TransactionDate: civil.Date{Year: 2026, Month: 4, Day: 1},
		Parties:         []storage.Party{{CompanyID: "co2", CompanyName: "B", UserID: "u2"}}, CreatedAt: t0, UpdatedAt: t0}
	evs := []storage.Event{
		{ID: "e1", Type: "receipt_requested", CaseID: "c1", Recipients: []string{"u2"}, Language: "en", CreatedAt: t0,
			CaseName: "保守契約", OrderNumber: "PO-1", FromCompany: "株式会社ケイヤク", FromUser: "山田 太郎",
			RecipientCompany: "Beta Ltd.", RecipientName: "Jane Doe", RecipientEmail: "jane@example.com"},
		{ID: "e2", Type: "sent_back", CaseID: "c1", Recipients: []string{"u1"}, Language: "ja", CreatedAt: t0.Add(time.Second),
			CaseName: "保守契約", Reason: "金額が違います", RecipientEmail: "flaky@example.jp"},
	}
	err = st.CommitCase(ctx, &storage.CaseCommit{Case: c, Events: evs,
		Audit: []storage.AuditEntry{{Time: t0, Action: "case.register", CaseID: "c1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(outbox.Config{Store: st, CaseURL: func(id string) string { return "https://portal.example.jp/cases/" + id }})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ob.Claim(ctx, t0.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := notify.Message{ID: "e1", Type: notify.EventReceiptRequested, CaseID: "c1", CaseName: "保守契約", OrderNumber: "PO-1",
		From:      notify.Party{Company: "株式会社ケイヤク", User: "山田 太郎"},
		Recipient: notify.Recipient{Company: "Beta Ltd.", Name: "Jane Doe", Email: "jane@example.com", Language: notify.LanguageEnglish},
		URL:       "https://portal.example.jp/cases/c1", CreatedAt: t0}
	if len(msgs) != 2 || msgs[0].ID != "e1" || !msgs[0].CreatedAt.Equal(t0) {
		t.Fatalf("claimed %+v", msgs)
	}
	msgs[0].CreatedAt = t0
	if msgs[0] != want {
		t.Errorf("message\n got %+v\nwant %+v", msgs[0], want)
	}
	if err := msgs[1].Validate(); err != nil {
		t.Errorf("mapped message does not validate: %v", err)
	}

	// A real notify.Worker over the same store, after the claim lapsed.
	mailer := &captureMailer{}
	now := t0.Add(10 * time.Minute)
	var mu sync.Mutex
	w, err := notify.NewWorker(notify.WorkerConfig{Outbox: ob, Mailer: mailer, Clock: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour) // past the retry backoff
	mu.Unlock()
	if _, _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range mailer.mails {
		to = append(to, m.To+"/"+string(m.Language))
	}
	if !slices.Equal(to, []string{"jane@example.com/en", "flaky@example.jp/ja"}) {
		t.Errorf("delivered to %v", to)
	}
	if due, _ := st.DueEvents(ctx, now.AddDate(1, 0, 0), 10); len(due) != 0 {
		t.Errorf("still due after delivery: %d", len(due))
	}
}
