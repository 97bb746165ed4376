package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.IdempotencyStore = (*Store)(nil)

// BeginIdempotent implements storage.IdempotencyStore. The one writer
// connection makes the read and the claim one step.
func (s *Store) BeginIdempotent(ctx context.Context, rec *storage.IdempotencyRecord, now time.Time) (*storage.IdempotencyRecord, error) {
	const op = "sqlite.BeginIdempotent"
	if err := storage.CheckIdempotency(op, rec); err != nil {
		return nil, err
	}
	var live *storage.IdempotencyRecord
	err := s.write(ctx, op, func(tx *wtx) error {
		live = nil
		got, err := scanIdempotency(op, tx.QueryRowContext(ctx, `SELECT principal, request, idem_key, request_hash, status, header, body, created_at, expires_at
			FROM idempotency WHERE principal = ? AND request = ? AND idem_key = ?`, rec.Principal, rec.Request, rec.Key))
		if err != nil {
			return err
		}
		if got != nil && got.ExpiresAt.After(now) {
			live = got
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency (principal, request, idem_key, request_hash, status, header, body, created_at, expires_at)
			VALUES (?,?,?,NULL,0,'{}',x'',?,?)`, rec.Principal, rec.Request, rec.Key, nanos(rec.CreatedAt), nanos(rec.ExpiresAt))
		return dbErr(op, err)
	})
	if err != nil {
		return nil, err
	}
	return live, nil
}

// FinishIdempotent implements storage.IdempotencyStore.
func (s *Store) FinishIdempotent(ctx context.Context, rec *storage.IdempotencyRecord) error {
	const op = "sqlite.FinishIdempotent"
	if err := storage.CheckIdempotency(op, rec); err != nil {
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
	return s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency SET request_hash = ?, status = ?, header = ?, body = ?, expires_at = ?
			WHERE principal = ? AND request = ? AND idem_key = ? AND status = 0`,
			rec.RequestHash, rec.Status, hdr, body, nanos(rec.ExpiresAt), rec.Principal, rec.Request, rec.Key)
		if err != nil {
			return dbErr(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kerr.E(kerr.NotFound, op, "no request with this Idempotency-Key is in flight")
		}
		return nil
	})
}

// ReleaseIdempotent implements storage.IdempotencyStore.
func (s *Store) ReleaseIdempotent(ctx context.Context, principal, request, key string) error {
	const op = "sqlite.ReleaseIdempotent"
	return s.write(ctx, op, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE principal = ? AND request = ? AND idem_key = ? AND status = 0`, principal, request, key)
		return dbErr(op, err)
	})
}

// PruneIdempotent implements storage.IdempotencyStore.
func (s *Store) PruneIdempotent(ctx context.Context, now time.Time) (int, error) {
	const op = "sqlite.PruneIdempotent"
	var n int64
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE expires_at <= ?`, nanos(now))
		if err != nil {
			return dbErr(op, err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// scanIdempotency reads one row, or nil when there is none.
func scanIdempotency(op string, row *sql.Row) (*storage.IdempotencyRecord, error) {
	var r storage.IdempotencyRecord
	var hdr string
	var created, expires int64
	err := row.Scan(&r.Principal, &r.Request, &r.Key, &r.RequestHash, &r.Status, &hdr, &r.Body, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	if err := json.Unmarshal([]byte(hdr), &r.Header); err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "stored answer headers are not valid JSON", err)
	}
	r.CreatedAt, r.ExpiresAt = unnanos(created), unnanos(expires)
	return &r, nil
}
