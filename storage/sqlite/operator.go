package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.NameRequestStore = (*Store)(nil)

// PutNameRequest implements storage.NameRequestStore. Writes are
// serialised, so the checks below (company, one pending request) hold
// when the transaction commits; the partial unique index backs them.
func (s *Store) PutNameRequest(ctx context.Context, r *storage.NameRequest, co *storage.Company, audit []storage.AuditEntry) error {
	const op = "sqlite.PutNameRequest"
	if err := r.Check(op); err != nil {
		return err
	}
	if co != nil && (co.ID == "" || co.Version < 1) {
		return kerr.E(kerr.Invalid, op, "the company written with a name request must be a stored company (ID and version)")
	}
	row := *r
	row.Version = r.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	var coRow storage.Company
	var coBody string
	if co != nil {
		coRow = *co
		coRow.Version = co.Version + 1
		if coBody, err = encode(op, &coRow); err != nil {
			return err
		}
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM companies WHERE id = ?`, row.CompanyID).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n == 0 {
			return kerr.E(kerr.FailedPrecondition, op, "company %q does not exist", row.CompanyID)
		}
		exists, err := checkVersion(ctx, tx, op, "name_requests", "name request", row.ID, r.Version)
		if err != nil {
			return err
		}
		if row.Status == storage.NamePending {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM name_requests WHERE company_id = ? AND status = 'pending' AND id <> ?`, row.CompanyID, row.ID).Scan(&n); err != nil {
				return dbErr(op, err)
			}
			if n > 0 {
				return kerr.E(kerr.Conflict, op, "company %q has a pending name request already", row.CompanyID)
			}
		}
		if exists {
			_, err = tx.ExecContext(ctx, `UPDATE name_requests SET version=?, company_id=?, status=?, requested_at=?, body=? WHERE id=?`,
				row.Version, row.CompanyID, string(row.Status), nanos(row.RequestedAt), body, row.ID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO name_requests (version, company_id, status, requested_at, body, id) VALUES (?,?,?,?,?,?)`,
				row.Version, row.CompanyID, string(row.Status), nanos(row.RequestedAt), body, row.ID)
		}
		if err != nil {
			return dbErr(op, err)
		}
		if co != nil {
			if _, err := checkVersion(ctx, tx, op, "companies", "company", coRow.ID, co.Version); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE companies SET version=?, body=? WHERE id=?`, coRow.Version, coBody, coRow.ID); err != nil {
				return dbErr(op, err)
			}
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err != nil {
		return err
	}
	r.Version = row.Version
	if co != nil {
		co.Version = coRow.Version
	}
	copy(audit, sealed)
	return nil
}

// GetNameRequest implements storage.NameRequestStore.
func (s *Store) GetNameRequest(ctx context.Context, id string) (*storage.NameRequest, error) {
	var r storage.NameRequest
	v, err := s.getBody(ctx, "sqlite.GetNameRequest", "name request", `SELECT version, body FROM name_requests WHERE id = ?`, id, &r)
	if err != nil {
		return nil, err
	}
	r.Version = v
	return &r, nil
}

// ListNameRequests implements storage.NameRequestStore.
func (s *Store) ListNameRequests(ctx context.Context, q *storage.NameRequestQuery) ([]*storage.NameRequest, error) {
	const op = "sqlite.ListNameRequests"
	if err := q.Check(op); err != nil {
		return nil, err
	}
	where, args := `1=1`, []any{}
	if q.After != "" {
		var at int64
		err := s.readRow(ctx, `SELECT requested_at FROM name_requests WHERE id = ?`, q.After).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, kerr.E(kerr.Invalid, op, "After %q names no name request: start again without it", q.After)
		}
		if err != nil {
			return nil, dbErr(op, err)
		}
		where += ` AND (requested_at > ? OR requested_at = ? AND id > ?)`
		args = append(args, at, at, q.After)
	}
	if q.CompanyID != "" {
		where += ` AND company_id = ?`
		args = append(args, q.CompanyID)
	}
	if q.Status != "" {
		where += ` AND status = ?`
		args = append(args, string(q.Status))
	}
	args = append(args, q.Limit)
	rows, err := s.r.QueryContext(ctx, `SELECT version, body FROM name_requests WHERE `+where+` ORDER BY requested_at, id LIMIT ?`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*storage.NameRequest
	for rows.Next() {
		var v int64
		var body string
		if err := rows.Scan(&v, &body); err != nil {
			return nil, dbErr(op, err)
		}
		var r storage.NameRequest
		if err := decode(op, body, &r); err != nil {
			return nil, err
		}
		r.Version = v
		out = append(out, &r)
	}
	return out, dbErr(op, rows.Err())
}
