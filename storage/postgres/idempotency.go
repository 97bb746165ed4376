package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.IdempotencyStore = (*Store)(nil)

// BeginIdempotent implements storage.IdempotencyStore. The claim is one
// INSERT … ON CONFLICT DO UPDATE … WHERE expired: of concurrent claims,
// across processes, exactly one inserts or takes over an expired row; the
// others read the live row.
func (s *Store) BeginIdempotent(ctx context.Context, rec *storage.IdempotencyRecord, now time.Time) (*storage.IdempotencyRecord, error) {
	const op = "postgres.BeginIdempotent"
	if err := storage.CheckIdempotency(op, rec); err != nil {
		return nil, err
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	// A live row can vanish between the failed claim and the read (its
	// request failed and released it); then claim again.
	for range 3 {
		var claimed bool
		err := s.pool.QueryRow(ctx, `INSERT INTO idempotency (principal, request, idem_key, request_hash, status, header, body, created_at, expires_at)
			VALUES ($1, $2, $3, NULL, 0, '{}', '', $4, $5)
			ON CONFLICT (principal, request, idem_key) DO UPDATE
				SET request_hash = NULL, status = 0, header = '{}', body = '', created_at = excluded.created_at, expires_at = excluded.expires_at
				WHERE idempotency.expires_at <= $6
			RETURNING true`, rec.Principal, rec.Request, rec.Key, nanos(rec.CreatedAt), nanos(rec.ExpiresAt), nanos(now)).Scan(&claimed)
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, dbErr(ctx, op, err)
		}
		var r storage.IdempotencyRecord
		var hdr []byte
		var created, expires int64
		err = s.pool.QueryRow(ctx, `SELECT principal, request, idem_key, request_hash, status, header, body, created_at, expires_at
			FROM idempotency WHERE principal = $1 AND request = $2 AND idem_key = $3`, rec.Principal, rec.Request, rec.Key).
			Scan(&r.Principal, &r.Request, &r.Key, &r.RequestHash, &r.Status, &hdr, &r.Body, &created, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, dbErr(ctx, op, err)
		}
		if err := json.Unmarshal(hdr, &r.Header); err != nil {
			return nil, kerr.WrapKind(kerr.Internal, op, "stored answer headers are not valid JSON", err)
		}
		r.CreatedAt, r.ExpiresAt = unnanos(created), unnanos(expires)
		return &r, nil
	}
	return nil, kerr.E(kerr.Unavailable, op, "the Idempotency-Key is claimed and released too often; retry")
}

// FinishIdempotent implements storage.IdempotencyStore.
func (s *Store) FinishIdempotent(ctx context.Context, rec *storage.IdempotencyRecord) error {
	const op = "postgres.FinishIdempotent"
	if err := storage.CheckIdempotency(op, rec); err != nil {
		return err
	}
	if err := s.live(ctx, op); err != nil {
		return err
	}
	hdr, err := encode(op, rec.Header)
	if err != nil {
		return err
	}
	body := rec.Body
	if body == nil {
		body = []byte{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency SET request_hash = $1, status = $2, header = $3, body = $4, expires_at = $5
		WHERE principal = $6 AND request = $7 AND idem_key = $8 AND status = 0`,
		rec.RequestHash, rec.Status, hdr, body, nanos(rec.ExpiresAt), rec.Principal, rec.Request, rec.Key)
	if err != nil {
		return dbErr(ctx, op, err)
	}
	if tag.RowsAffected() == 0 {
		return kerr.E(kerr.NotFound, op, "no request with this Idempotency-Key is in flight")
	}
	return nil
}

// ReleaseIdempotent implements storage.IdempotencyStore.
func (s *Store) ReleaseIdempotent(ctx context.Context, principal, request, key string) error {
	const op = "postgres.ReleaseIdempotent"
	if err := s.live(ctx, op); err != nil {
		return err
	}
	if !storable(principal) || !storable(request) || !storable(key) {
		return nil // nothing so named can have been stored
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE principal = $1 AND request = $2 AND idem_key = $3 AND status = 0`, principal, request, key)
	return dbErr(ctx, op, err)
}

// PruneIdempotent implements storage.IdempotencyStore.
func (s *Store) PruneIdempotent(ctx context.Context, now time.Time) (int, error) {
	const op = "postgres.PruneIdempotent"
	if err := s.live(ctx, op); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE expires_at <= $1`, nanos(now))
	if err != nil {
		return 0, dbErr(ctx, op, err)
	}
	return int(tag.RowsAffected()), nil
}
