package postgres

import (
	"context"

	"github.com/keiyaku/keiyaku/storage"
)

// FindCompanies implements storage.DirectoryStore. The name filter scans
// the companies (strpos, byte-wise under COLLATE "C"); the corporate
// number is indexed (migration 00002).
func (s *Store) FindCompanies(ctx context.Context, q *storage.CompanyQuery) ([]*storage.Company, error) {
	const op = "postgres.FindCompanies"
	if err := q.Check(op); err != nil {
		return nil, err
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	for field, v := range map[string]string{"ID": q.ID, "CorporateNumber": q.CorporateNumber, "NameContains": q.NameContains, "SignerCertSHA256": q.SignerCertSHA256} {
		if err := checkText(op, field, v); err != nil {
			return nil, err
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT version, body FROM companies
		WHERE ($1 = '' OR id = $1)
		  AND ($2 = '' OR body ->> 'CorporateNumber' = $2)
		  AND ($3 = '' OR strpos(body ->> 'Name', $3) > 0)
		  AND ($5::text = '' OR body -> 'SignerCerts' @> jsonb_build_array(jsonb_build_object('CertSHA256', $5::text)))
		ORDER BY (body ->> 'Name') COLLATE "C", id LIMIT $4`, q.ID, q.CorporateNumber, q.NameContains, q.Limit, q.SignerCertSHA256)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []*storage.Company
	for rows.Next() {
		var v int64
		var body []byte
		if err := rows.Scan(&v, &body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var c storage.Company
		if err := decode(op, body, &c); err != nil {
			return nil, err
		}
		c.Version = v
		out = append(out, &c)
	}
	return out, dbErr(ctx, op, rows.Err())
}
