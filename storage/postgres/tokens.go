package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.TokenStore = (*Store)(nil)

// PutAPIToken implements storage.TokenStore.
func (s *Store) PutAPIToken(ctx context.Context, t *storage.APIToken, audit []storage.AuditEntry) error {
	const op = "postgres.PutAPIToken"
	if t == nil || t.ID == "" || t.TokenHash == "" || t.UserID == "" {
		return kerr.E(kerr.Invalid, op, "an API token needs an ID, a hash and a user")
	}
	if !storable(t.ID) || !storable(t.TokenHash) || !storable(t.UserID) {
		return kerr.E(kerr.Invalid, op, "API token ID, hash and user must be valid UTF-8 without NUL")
	}
	body, err := encode(op, t)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, token_hash, user_id, created_at, body) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, t.ID, t.TokenHash, t.UserID, nanos(t.CreatedAt), body)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kerr.E(kerr.Conflict, op, "API token exists already")
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
	const op = "postgres.UpdateAPIToken"
	if t == nil || t.ID == "" {
		return kerr.E(kerr.Invalid, op, "no API token given")
	}
	if !storable(t.ID) || !storable(t.TokenHash) || !storable(t.UserID) {
		return kerr.E(kerr.NotFound, op, "no such API token")
	}
	body, err := encode(op, t)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_tokens SET body = $1 WHERE id = $2 AND token_hash = $3 AND user_id = $4`, body, t.ID, t.TokenHash, t.UserID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	const op = "postgres.GetAPITokenByHash"
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	notFound := kerr.E(kerr.NotFound, op, "no such API token")
	if !storable(tokenHash) {
		return nil, notFound
	}
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM api_tokens WHERE token_hash = $1`, tokenHash).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	var t storage.APIToken
	return &t, decode(op, body, &t)
}

// ListAPITokens implements storage.TokenStore.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]*storage.APIToken, error) {
	const op = "postgres.ListAPITokens"
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT body FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []*storage.APIToken
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var t storage.APIToken
		if err := decode(op, body, &t); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return out, nil
}
