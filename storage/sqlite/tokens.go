package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.TokenStore = (*Store)(nil)

// PutAPIToken implements storage.TokenStore.
func (s *Store) PutAPIToken(ctx context.Context, t *storage.APIToken, audit []storage.AuditEntry) error {
	const op = "sqlite.PutAPIToken"
	if t == nil || t.ID == "" || t.TokenHash == "" || t.UserID == "" {
		return kerr.E(kerr.Invalid, op, "an API token needs an ID, a hash and a user")
	}
	body, err := encode(op, t)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE id = ? OR token_hash = ?`, t.ID, t.TokenHash).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n > 0 {
			return kerr.E(kerr.Conflict, op, "API token exists already")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, token_hash, user_id, created_at, body) VALUES (?,?,?,?,?)`,
			t.ID, t.TokenHash, t.UserID, nanos(t.CreatedAt), body); err != nil {
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

// UpdateAPIToken implements storage.TokenStore.
func (s *Store) UpdateAPIToken(ctx context.Context, t *storage.APIToken, audit []storage.AuditEntry) error {
	const op = "sqlite.UpdateAPIToken"
	if t == nil || t.ID == "" {
		return kerr.E(kerr.Invalid, op, "no API token given")
	}
	body, err := encode(op, t)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET body = ? WHERE id = ? AND token_hash = ? AND user_id = ?`, body, t.ID, t.TokenHash, t.UserID)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return kerr.E(kerr.NotFound, op, "no such API token")
		}
		if len(audit) > 0 {
			sealed, err = appendAudit(ctx, tx, op, audit)
		}
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// GetAPITokenByHash implements storage.TokenStore.
func (s *Store) GetAPITokenByHash(ctx context.Context, tokenHash string) (*storage.APIToken, error) {
	const op = "sqlite.GetAPITokenByHash"
	var body string
	err := s.readRow(ctx, `SELECT body FROM api_tokens WHERE token_hash = ?`, tokenHash).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "no such API token")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	var t storage.APIToken
	return &t, decode(op, body, &t)
}

// ListAPITokens implements storage.TokenStore.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]*storage.APIToken, error) {
	const op = "sqlite.ListAPITokens"
	rows, err := s.r.QueryContext(ctx, `SELECT body FROM api_tokens WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*storage.APIToken
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(op, err)
		}
		var t storage.APIToken
		if err := decode(op, body, &t); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, dbErr(op, rows.Err())
}
