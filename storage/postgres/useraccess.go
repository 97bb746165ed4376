package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.UserAccessStore = (*Store)(nil)

// PutAllowList implements storage.UserAccessStore.
func (s *Store) PutAllowList(ctx context.Context, userID string, list []string, audit []storage.AuditEntry) error {
	const op = "postgres.PutAllowList"
	if err := storage.CheckAllowList(op, list); err != nil {
		return err
	}
	if len(audit) == 0 {
		return kerr.E(kerr.Invalid, op, "changing an allow-list needs an audit entry")
	}
	for _, e := range list {
		if !storable(e) {
			return kerr.E(kerr.Invalid, op, "allow-list entries must be valid UTF-8 without NUL")
		}
	}
	if !storable(userID) {
		return kerr.E(kerr.NotFound, op, "no user %q", userID)
	}
	if list == nil {
		list = []string{}
	}
	body, err := encode(op, list)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		// Lock the user row so that the user cannot vanish under us.
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR SHARE`, userID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "no user %q", userID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_access (user_id, allow_list) VALUES ($1, $2)
			ON CONFLICT (user_id) DO UPDATE SET allow_list = excluded.allow_list`, userID, body); err != nil {
			return err
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
	const op = "postgres.GetUserAccess"
	if err := s.live(ctx, op); err != nil {
		return storage.UserAccess{}, err
	}
	if !storable(userID) {
		return storage.UserAccess{}, nil
	}
	var body []byte
	var last int64
	err := s.pool.QueryRow(ctx, `SELECT allow_list, last_login_at FROM user_access WHERE user_id = $1`, userID).Scan(&body, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.UserAccess{}, nil
	}
	if err != nil {
		return storage.UserAccess{}, dbErr(ctx, op, err)
	}
	a := storage.UserAccess{LastLoginAt: unnanos(last)}
	return a, decode(op, body, &a.AllowList)
}

// ListUserAccess implements storage.UserAccessStore.
func (s *Store) ListUserAccess(ctx context.Context, companyID string) (map[string]storage.UserAccess, error) {
	const op = "postgres.ListUserAccess"
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	out := map[string]storage.UserAccess{}
	if !storable(companyID) {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT a.user_id, a.allow_list, a.last_login_at FROM user_access a
		JOIN users u ON u.id = a.user_id WHERE u.company_id = $1`, companyID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var body []byte
		var last int64
		if err := rows.Scan(&id, &body, &last); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		a := storage.UserAccess{LastLoginAt: unnanos(last)}
		if err := decode(op, body, &a.AllowList); err != nil {
			return nil, err
		}
		out[id] = a
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return out, nil
}

// RecordLogin implements storage.UserAccessStore.
func (s *Store) RecordLogin(ctx context.Context, userID string, t time.Time) error {
	const op = "postgres.RecordLogin"
	if !storable(userID) {
		return kerr.E(kerr.NotFound, op, "no user %q", userID)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO user_access (user_id, last_login_at) SELECT id, $2 FROM users WHERE id = $1
			ON CONFLICT (user_id) DO UPDATE SET last_login_at = excluded.last_login_at`, userID, nanos(t))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kerr.E(kerr.NotFound, op, "no user %q", userID)
		}
		return nil
	})
}

// BlockedUntil implements storage.UserAccessStore.
func (s *Store) BlockedUntil(ctx context.Context, subject string, now time.Time) (time.Time, error) {
	const op = "postgres.BlockedUntil"
	if err := s.live(ctx, op); err != nil {
		return time.Time{}, err
	}
	if !storable(subject) {
		return time.Time{}, nil
	}
	var until int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(blocked_until), 0) FROM throttles WHERE subject = $1 AND blocked_until > $2`,
		subject, nanos(now)).Scan(&until)
	if err != nil {
		return time.Time{}, dbErr(ctx, op, err)
	}
	return unnanos(until), nil
}
