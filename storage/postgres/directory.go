package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/keiyaku/keiyaku/storage"
)

// FindCompanies implements storage.DirectoryStore. The corporate number
// is indexed (migration 00002); the name (strpos, byte-wise) and signer
// certificate filters scan the companies.
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
	// Only the conditions asked for, so that the planner can use the index
	// of an equality. Every fragment is a constant; the values go as
	// parameters.
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if q.ID != "" {
		add(`id = $?`, q.ID)
	}
	if q.CorporateNumber != "" {
		add(`body ->> 'CorporateNumber' = $?`, q.CorporateNumber)
	}
	if q.NameContains != "" {
		add(`strpos(body ->> 'Name', $?) > 0`, q.NameContains)
	}
	if q.SignerCertSHA256 != "" {
		add(`body -> 'SignerCerts' @> jsonb_build_array(jsonb_build_object('CertSHA256', $?::text))`, q.SignerCertSHA256)
	}
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, `SELECT version, body FROM companies WHERE `+strings.Join(where, ` AND `)+
		` ORDER BY (body ->> 'Name') COLLATE "C", id LIMIT $`+strconv.Itoa(len(args)), args...)
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
