package sqlite

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/storage"
)

// FindCompanies implements storage.DirectoryStore. The corporate number
// is indexed (migration 00002); the name (instr, byte-wise) and signer
// certificate filters scan the companies.
func (s *Store) FindCompanies(ctx context.Context, q *storage.CompanyQuery) ([]*storage.Company, error) {
	const op = "sqlite.FindCompanies"
	if err := q.Check(op); err != nil {
		return nil, err
	}
	// Only the conditions asked for, so that SQLite can use the index of
	// an equality (an "? = '' OR ..." condition cannot). Every fragment
	// is a constant; the values go as parameters.
	var where []string
	var args []any
	if q.ID != "" {
		where, args = append(where, `id = ?`), append(args, q.ID)
	}
	if q.CorporateNumber != "" {
		where, args = append(where, `json_extract(body, '$.CorporateNumber') = ?`), append(args, q.CorporateNumber)
	}
	if q.NameContains != "" {
		if verbatimInJSON(q.NameContains) {
			where, args = append(where, prefilter), append(args, q.NameContains)
		}
		where, args = append(where, `instr(CAST(json_extract(body, '$.Name') AS BLOB), CAST(? AS BLOB)) > 0`), append(args, q.NameContains)
	}
	if q.SignerCertSHA256 != "" {
		if verbatimInJSON(q.SignerCertSHA256) {
			where, args = append(where, prefilter), append(args, q.SignerCertSHA256)
		}
		where = append(where, `EXISTS (SELECT 1 FROM json_each(body, '$.SignerCerts') WHERE json_extract(value, '$.CertSHA256') = ?)`)
		args = append(args, q.SignerCertSHA256)
	}
	args = append(args, q.Limit)
	rows, err := s.r.QueryContext(ctx, `SELECT version, body FROM companies WHERE `+strings.Join(where, ` AND `)+
		` ORDER BY CAST(json_extract(body, '$.Name') AS BLOB), id LIMIT ?`, args...)
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

// prefilter keeps the rows whose JSON body contains the value at all: a
// byte search (instr on BLOBs, memmem-like) that is much cheaper than
// parsing the body, so that the exact JSON condition after it runs on few
// rows. Measured by BenchmarkFindCompanies.
const prefilter = `instr(body, ?) > 0`

// verbatimInJSON reports whether encoding/json writes v inside a string
// unchanged, so that a body holding v holds its bytes: valid UTF-8
// without the characters it escapes (", \, control characters, <, >, &,
// U+2028, U+2029).
func verbatimInJSON(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsFunc(v, func(r rune) bool {
		return r < 0x20 || strings.ContainsRune("\"\\<>&\u2028\u2029", r)
	})
}
