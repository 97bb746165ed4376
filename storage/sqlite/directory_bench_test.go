package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// BenchmarkFindCompanies measures the directory over 5,000 companies,
// each with two registered signing certificates: by corporate number
// (indexed, the floor), by part of the name and by a signer certificate
// (both scan every company).
func BenchmarkFindCompanies(b *testing.B) {
	const n = 5000
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "dir.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				c := &storage.Company{ID: fmt.Sprintf("co%05d", i), Name: fmt.Sprintf("株式会社サンプル%05d商事", i),
					CorporateNumber: fmt.Sprintf("%013d", i), CreatedAt: time.Unix(0, 0),
					SignerCerts: []storage.SignerCert{{ID: "a", CertSHA256: fmt.Sprintf("%064x", 2*i)}, {ID: "b", CertSHA256: fmt.Sprintf("%064x", 2*i+1)}}}
				if err := s.PutCompany(ctx, c, []storage.AuditEntry{{Time: time.Unix(0, 0), ActorUserID: "bench", Action: "company.create"}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		q    storage.CompanyQuery
	}{
		{"CorporateNumber", storage.CompanyQuery{CorporateNumber: fmt.Sprintf("%013d", n/2), Limit: 20}},
		{"NameContains", storage.CompanyQuery{NameContains: fmt.Sprintf("%05d商", n/2), Limit: 20}},
		{"SignerCert", storage.CompanyQuery{SignerCertSHA256: fmt.Sprintf("%064x", n), Limit: 2}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				got, err := s.FindCompanies(ctx, &bc.q)
				if err != nil || len(got) != 1 {
					b.Fatalf("FindCompanies = %d, %v", len(got), err)
				}
			}
		})
	}
}
