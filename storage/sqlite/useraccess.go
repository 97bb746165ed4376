package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.UserAccessStore = (*Store)(nil)

// PutAllowList implements storage.UserAccessStore.
func (s *Store) PutAllowList(ctx context.Context, userID string, list []string, audit []storage.AuditEntry) error {
	const op = "sqlite.PutAllowList"
	if err := storage.CheckAllowList(op, list); err != nil {
		return err
	}
	if len(audit) == 0 {
		return kerr.E(kerr.Invalid, op, "changing an allow-list needs an audit entry")
	}
	if list == nil {
		list = []string{}
	}
	body, err := encode(op, list)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, userID).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n == 0 {
			return kerr.E(kerr.NotFound, op, "no user %q", userID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_access (user_id, allow_list) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET allow_list = excluded.allow_list`, userID, body); err != nil {
			return dbErr(op, err)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// GetUserAccess implements storage.UserAccessStore.
func (s *Store) GetUserAccess(ctx context.Context, userID string) (storage.UserAccess, error) {
	const op = "sqlite.GetUserAccess"
	var body string
	var last int64
	err := s.readRow(ctx, `SELECT allow_list, last_login_at FROM user_access WHERE user_id = ?`, userID).Scan(&body, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.UserAccess{}, nil
	}
	if err != nil {
		return storage.UserAccess{}, dbErr(op, err)
	}
	a := storage.UserAccess{LastLoginAt: unnanos(last)}
	return a, decode(op, body, &a.AllowList)
}

// ListUserAccess implements storage.UserAccessStore.
func (s *Store) ListUserAccess(ctx context.Context, companyID string) (map[string]storage.UserAccess, error) {
	const op = "sqlite.ListUserAccess"
	rows, err := s.r.QueryContext(ctx, `SELECT a.user_id, a.allow_list, a.last_login_at FROM user_access a
		JOIN users u ON u.id = a.user_id WHERE u.company_id = ?`, companyID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := map[string]storage.UserAccess{}
	for rows.Next() {
		var id, body string
		var last int64
		if err := rows.Scan(&id, &body, &last); err != nil {
			return nil, dbErr(op, err)
		}
		a := storage.UserAccess{LastLoginAt: unnanos(last)}
		if err := decode(op, body, &a.AllowList); err != nil {
			return nil, err
		}
		out[id] = a
	}
	return out, dbErr(op, rows.Err())
}

// RecordLogin implements storage.UserAccessStore.
func (s *Store) RecordLogin(ctx context.Context, userID string, t time.Time) error {
	const op = "sqlite.RecordLogin"
	return s.write(ctx, op, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, userID).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n == 0 {
			return kerr.E(kerr.NotFound, op, "no user %q", userID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO user_access (user_id, last_login_at) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET last_login_at = excluded.last_login_at`, userID, nanos(t))
		return dbErr(op, err)
	})
}

// BlockedUntil implements storage.UserAccessStore.
func (s *Store) BlockedUntil(ctx context.Context, subject string, now time.Time) (time.Time, error) {
	const op = "sqlite.BlockedUntil"
	var until int64
	err := s.readRow(ctx, `SELECT coalesce(max(blocked_until), 0) FROM throttles WHERE subject = ? AND blocked_until > ?`,
		subject, nanos(now)).Scan(&until)
	if err != nil {
		return time.Time{}, dbErr(op, err)
	}
	return unnanos(until), nil
}
