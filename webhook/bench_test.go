package webhook_test

import (
	"context"
	"testing"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/webhook"
)

// BenchmarkPlanWebhooks is what every case commit pays for webhooks on
// SQLite: one subscription read per company on the case (two here),
// with no subscription and with one subscribed per company. The floor
// beside it is one GetCase, an indexed read casework makes anyway.
func BenchmarkPlanWebhooks(b *testing.B) {
	ctx := context.Background()
	for _, subs := range []int{0, 1} {
		name := map[int]string{0: "no-subscriptions", 1: "one-per-company"}[subs]
		b.Run(name, func(b *testing.B) {
			s, _ := openB(b)
			for i := 0; i < subs; i++ {
				for _, co := range []string{"co1", "co2"} {
					p := admin
					p.CompanyID = co
					if _, _, err := s.Create(ctx, p, webhook.Input{URL: "https://h.example/x", Events: webhook.EventTypes()}); err != nil {
						b.Fatal(err)
					}
				}
			}
			c := &storage.Case{ID: "c1", State: "sent", RegistrantCompanyID: "co1", Parties: []storage.Party{{CompanyID: "co2"}}, UpdatedAt: t0,
				TransactionDate: civil.Date{Year: 2026, Month: 4, Day: 1}}
			b.ResetTimer()
			for b.Loop() {
				ds, err := s.PlanWebhooks(ctx, c, 2, webhook.EventReceived)
				if err != nil || len(ds) != 2*subs {
					b.Fatalf("%d deliveries, %v", len(ds), err)
				}
			}
		})
	}
	b.Run("floor-GetCase", func(b *testing.B) {
		_, st := openB(b)
		c := &storage.Case{ID: "c1", Form: "bilateral", State: "sent", Category: "new", Currency: "JPY", RegistrantCompanyID: "co1", RegistrantUserID: "u1",
			Parties: []storage.Party{{CompanyID: "co2", UserID: "u2"}}, UpdatedAt: t0, CreatedAt: t0, TransactionDate: civil.Date{Year: 2026, Month: 4, Day: 1}}
		if err := st.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: []storage.AuditEntry{{Time: t0, Action: "x"}}}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := st.GetCase(ctx, "c1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
