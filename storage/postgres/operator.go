package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.NameRequestStore = (*Store)(nil)

// PutNameRequest implements storage.NameRequestStore. The database keeps
// both rules under concurrency: the partial unique index
// name_requests_pending (one pending request per company, kerr.Conflict)
// and the foreign key to companies (kerr.FailedPrecondition).
func (s *Store) PutNameRequest(ctx context.Context, r *storage.NameRequest, co *storage.Company, audit []storage.AuditEntry) error {
	const op = "postgres.PutNameRequest"
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
	var coBody []byte
	if co != nil {
		coRow = *co
		coRow.Version = co.Version + 1
		if coBody, err = encode(op, &coRow); err != nil {
			return err
		}
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		err := putVersioned(ctx, tx, op, "name request", "name_requests", row.ID, r.Version,
			[]string{"company_id", "status", "requested_at", "body"},
			[]any{row.CompanyID, string(row.Status), nanos(row.RequestedAt), body})
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			switch pe.ConstraintName {
			case "name_requests_pending":
				return kerr.WrapKind(kerr.Conflict, op, "company "+quote(row.CompanyID)+" has a pending name request already", err)
			case "name_requests_company_fkey":
				return kerr.WrapKind(kerr.FailedPrecondition, op, "company "+quote(row.CompanyID)+" does not exist", err)
			}
		}
		if err != nil {
			return err
		}
		if co != nil {
			if err := putVersioned(ctx, tx, op, "company", "companies", coRow.ID, co.Version, []string{"body"}, []any{coBody}); err != nil {
				return err
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
	v, err := s.getBody(ctx, "postgres.GetNameRequest", "name request", `SELECT version, body FROM name_requests WHERE id = $1`, id, &r)
	if err != nil {
		return nil, err
	}
	r.Version = v
	return &r, nil
}

// ListNameRequests implements storage.NameRequestStore.
func (s *Store) ListNameRequests(ctx context.Context, q *storage.NameRequestQuery) ([]*storage.NameRequest, error) {
	const op = "postgres.ListNameRequests"
	if err := q.Check(op); err != nil {
		return nil, err
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	if !storable(q.CompanyID) || !storable(q.After) {
		if q.After != "" && !storable(q.After) {
			return nil, kerr.E(kerr.Invalid, op, "After names no name request: start again without it")
		}
		return nil, nil
	}
	where, args := `TRUE`, []any{}
	arg := func(v any) string {
		args = append(args, v)
		return `$` + strconv.Itoa(len(args))
	}
	if q.After != "" {
		var at int64
		err := s.pool.QueryRow(ctx, `SELECT requested_at FROM name_requests WHERE id = $1`, q.After).Scan(&at)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, kerr.E(kerr.Invalid, op, "After %q names no name request: start again without it", q.After)
		}
		if err != nil {
			return nil, dbErr(ctx, op, err)
		}
		where += ` AND (requested_at, id) > (` + arg(at) + `, ` + arg(q.After) + `)`
	}
	if q.CompanyID != "" {
		where += ` AND company_id = ` + arg(q.CompanyID)
	}
	if q.Status != "" {
		where += ` AND status = ` + arg(string(q.Status))
	}
	rows, err := s.pool.Query(ctx, `SELECT version, body FROM name_requests WHERE `+where+` ORDER BY requested_at, id LIMIT `+arg(q.Limit), args...)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []*storage.NameRequest
	for rows.Next() {
		var v int64
		var body []byte
		if err := rows.Scan(&v, &body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var r storage.NameRequest
		if err := decode(op, body, &r); err != nil {
			return nil, err
		}
		r.Version = v
		out = append(out, &r)
	}
	return out, dbErr(ctx, op, rows.Err())
}
