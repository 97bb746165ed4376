package sqlite

import (
	"context"

	"github.com/keiyaku/keiyaku/storage"
)

// FindCompanies implements storage.DirectoryStore. The name filter scans
// the companies (instr, byte-wise); the corporate number is indexed
// (migration 00002).
func (s *Store) FindCompanies(ctx context.Context, q *storage.CompanyQuery) ([]*storage.Company, error) {
	const op = "sqlite.FindCompanies"
	if err := q.Check(op); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT version, body FROM companies
		WHERE (?1 = '' OR id = ?1)
		  AND (?2 = '' OR json_extract(body, '$.CorporateNumber') = ?2)
		  AND (?3 = '' OR instr(CAST(json_extract(body, '$.Name') AS BLOB), CAST(?3 AS BLOB)) > 0)
		  AND (?5 = '' OR EXISTS (SELECT 1 FROM json_each(body, '$.SignerCerts') WHERE json_extract(value, '$.CertSHA256') = ?5))
		ORDER BY CAST(json_extract(body, '$.Name') AS BLOB), id LIMIT ?4`, q.ID, q.CorporateNumber, q.NameContains, q.Limit, q.SignerCertSHA256)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*storage.Company
	for rows.Next() {
		var v int64
		var body string
		if err := rows.Scan(&v, &body); err != nil {
			return nil, dbErr(op, err)
		}
		var c storage.Company
		if err := decode(op, body, &c); err != nil {
			return nil, err
		}
		c.Version = v
		out = append(out, &c)
	}
	return out, dbErr(op, rows.Err())
}
