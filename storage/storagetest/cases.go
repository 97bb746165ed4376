package storagetest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/keiyaku/keiyaku/storage"
)

// BenchCases makes n varied cases numbered from offset, for companies
// co0..co99, deterministically from rng: the data every backend's search
// benchmark loads, so that their figures compare.
func BenchCases(n, offset int, rng *rand.Rand) []*storage.Case {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	states := []string{"sent", "received", "returned", "sent-back", "completed", "completed", "completed", "deleted"}
	forms := []string{"order-acceptance", "order-acceptance-combined", "bilateral", "multi-party", "send-only"}
	cats := []string{"new", "new", "new", "change", "addition", "cancellation"}
	out := make([]*storage.Case, n)
	for i := range out {
		id := offset + i
		reg := rng.IntN(100)
		party := (reg + 1 + rng.IntN(99)) % 100
		created := base.Add(time.Duration(id) * time.Minute)
		c := &storage.Case{
			ID: fmt.Sprintf("case-%08d", id), Form: forms[rng.IntN(len(forms))], State: states[rng.IntN(len(states))],
			Category: cats[rng.IntN(len(cats))], Name: "契約 " + strconv.Itoa(rng.IntN(5000)), OrderNumber: "PO-" + strconv.Itoa(id),
			Amount: int64(rng.IntN(10_000_000)), Currency: "JPY", TransactionDate: base.AddDate(0, 0, rng.IntN(2000)),
			RegistrantCompanyID: "co" + strconv.Itoa(reg), RegistrantUserID: fmt.Sprintf("u%d-%d", reg, rng.IntN(10)),
			Parties:   []storage.Party{{CompanyID: "co" + strconv.Itoa(party), CompanyName: "取引先" + strconv.Itoa(party), UserID: fmt.Sprintf("u%d-0", party)}},
			Document:  storage.File{Name: "c.pdf", Key: fmt.Sprintf("%064x", id), Size: 1000},
			CreatedAt: created, UpdatedAt: created,
		}
		if c.State == "completed" {
			c.CompletedAt = created.Add(time.Duration(rng.IntN(1000)) * time.Hour)
		}
		out[i] = c
	}
	return out
}
