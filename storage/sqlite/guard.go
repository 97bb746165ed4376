package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.GuardStore = (*Store)(nil)

func unnanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

const throttleCols = `key, subject, count, seq, blocks, last_at, blocked_until`

func scanThrottle(row interface{ Scan(...any) error }) (storage.Throttle, error) {
	var t storage.Throttle
	var last, until int64
	err := row.Scan(&t.Key, &t.Subject, &t.Count, &t.Seq, &t.Blocks, &last, &until)
	t.LastAt, t.BlockedUntil = unnanos(last), unnanos(until)
	return t, err
}

// ReserveAttempt implements storage.GuardStore. The writer connection runs
// one transaction at a time (BEGIN IMMEDIATE), so the read and the update
// of every rule's row are atomic together.
func (s *Store) ReserveAttempt(ctx context.Context, now time.Time, rules []storage.ThrottleRule) (storage.ThrottleVerdict, error) {
	const op = "sqlite.ReserveAttempt"
	if err := storage.CheckThrottleRules(op, rules); err != nil {
		return storage.ThrottleVerdict{}, err
	}
	var v storage.ThrottleVerdict
	err := s.write(ctx, op, func(tx *wtx) error {
		v = storage.ThrottleVerdict{}
		cur := make([]storage.Throttle, len(rules))
		for i, r := range rules {
			t, err := scanThrottle(tx.QueryRowContext(ctx, `SELECT `+throttleCols+` FROM throttles WHERE key = ?`, r.Key))
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return dbErr(op, err)
			}
			if now.Before(t.BlockedUntil) {
				return nil // blocked: write nothing
			}
			cur[i] = t
		}
		tickets := make([]int64, len(rules))
		for i, r := range rules {
			t := cur[i].Next(r, now)
			if _, err := tx.ExecContext(ctx, `INSERT INTO throttles (`+throttleCols+`) VALUES (?,?,?,?,?,?,?)
				ON CONFLICT (key) DO UPDATE SET subject=excluded.subject, count=excluded.count, seq=excluded.seq,
				blocks=excluded.blocks, last_at=excluded.last_at, blocked_until=excluded.blocked_until`,
				t.Key, t.Subject, t.Count, t.Seq, t.Blocks, nanos(t.LastAt), nanos(t.BlockedUntil)); err != nil {
				return dbErr(op, err)
			}
			tickets[i] = t.Seq
		}
		v = storage.ThrottleVerdict{Allowed: true, Tickets: tickets}
		return nil
	})
	if err != nil {
		return storage.ThrottleVerdict{}, err
	}
	return v, nil
}

// ResetAttempts implements storage.GuardStore.
func (s *Store) ResetAttempts(ctx context.Context, key string, ticket int64) (bool, error) {
	const op = "sqlite.ResetAttempts"
	var n int64
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE throttles SET count=0, blocks=0, blocked_until=0 WHERE key=? AND seq=?`, key, ticket)
		if err != nil {
			return dbErr(op, err)
		}
		n, err = res.RowsAffected()
		return dbErr(op, err)
	})
	return n > 0, err
}

// ClearThrottles implements storage.GuardStore.
func (s *Store) ClearThrottles(ctx context.Context, subject string, audit []storage.AuditEntry) (int, error) {
	const op = "sqlite.ClearThrottles"
	if subject == "" {
		return 0, kerr.E(kerr.Invalid, op, "name the subject whose throttles to clear")
	}
	var n int64
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM throttles WHERE subject = ?`, subject)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return dbErr(op, err)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err != nil {
		return 0, err
	}
	copy(audit, sealed)
	return int(n), nil
}

// GetThrottle implements storage.GuardStore.
func (s *Store) GetThrottle(ctx context.Context, key string) (*storage.Throttle, error) {
	const op = "sqlite.GetThrottle"
	t, err := scanThrottle(s.readRow(ctx, `SELECT `+throttleCols+` FROM throttles WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "no throttle record for this key")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return &t, nil
}

// PruneThrottles implements storage.GuardStore.
func (s *Store) PruneThrottles(ctx context.Context, t time.Time) (int, error) {
	const op = "sqlite.PruneThrottles"
	var n int64
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM throttles WHERE last_at < ? AND blocked_until <= ?`, nanos(t), nanos(t))
		if err != nil {
			return dbErr(op, err)
		}
		n, err = res.RowsAffected()
		return dbErr(op, err)
	})
	return int(n), err
}

// Tally implements storage.GuardStore.
func (s *Store) Tally(ctx context.Context, key string, now time.Time, every time.Duration) (int64, time.Time, bool, error) {
	const op = "sqlite.Tally"
	if key == "" || len(key) > 128 || every <= 0 {
		return 0, time.Time{}, false, kerr.E(kerr.Invalid, op, "a tally needs a key of 1 to 128 bytes and a positive period")
	}
	var n, since int64
	var due bool
	err := s.write(ctx, op, func(tx *wtx) error {
		due = false
		err := tx.QueryRowContext(ctx, `SELECT n, since FROM tallies WHERE key = ?`, key).Scan(&n, &since)
		if errors.Is(err, sql.ErrNoRows) {
			n, since, err = 0, nanos(now), nil
		}
		if err != nil {
			return dbErr(op, err)
		}
		n++
		if now.Sub(unnanos(since)) >= every {
			due = true
			_, err = tx.ExecContext(ctx, `INSERT INTO tallies (key, n, since) VALUES (?, 0, ?)
				ON CONFLICT (key) DO UPDATE SET n=0, since=excluded.since`, key, nanos(now))
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO tallies (key, n, since) VALUES (?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET n=excluded.n`, key, n, since)
		}
		return dbErr(op, err)
	})
	if err != nil {
		return 0, time.Time{}, false, err
	}
	return n, unnanos(since), due, nil
}

// PutUserEndSessions implements storage.GuardStore.
func (s *Store) PutUserEndSessions(ctx context.Context, u *storage.User, keep string, audit []storage.AuditEntry) (int, error) {
	const op = "sqlite.PutUserEndSessions"
	if u == nil || u.LoginID == "" {
		return 0, kerr.E(kerr.Invalid, op, "a user needs a login ID")
	}
	row := *u
	row.Version = u.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return 0, err
	}
	var n int64
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		if err := putUserTx(ctx, tx, op, &row, body, u.Version); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, row.ID, keep)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return dbErr(op, err)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err != nil {
		return 0, err
	}
	u.Version = row.Version
	copy(audit, sealed)
	return int(n), nil
}

var _ storage.AnchorStore = (*Store)(nil)

// PutAuditAnchor implements storage.AnchorStore.
func (s *Store) PutAuditAnchor(ctx context.Context, a *storage.AuditAnchor) error {
	const op = "sqlite.PutAuditAnchor"
	if err := storage.CheckAnchor(op, a); err != nil {
		return err
	}
	return s.write(ctx, op, func(tx *wtx) error {
		var hash []byte
		err := tx.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = ?`, a.Seq).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) || err == nil && string(hash) != string(a.Hash) {
			return kerr.E(kerr.FailedPrecondition, op, "audit entry %d does not exist with the anchored hash", a.Seq)
		}
		if err != nil {
			return dbErr(op, err)
		}
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_anchors`).Scan(&last); err != nil {
			return dbErr(op, err)
		}
		if a.Seq <= last {
			return kerr.E(kerr.Conflict, op, "entry %d is not after the last anchored entry %d", a.Seq, last)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_anchors (seq, hash, at, token) VALUES (?, ?, ?, ?)`, a.Seq, a.Hash, nanos(a.At), a.Token)
		return dbErr(op, err)
	})
}

// ListAuditAnchors implements storage.AnchorStore.
func (s *Store) ListAuditAnchors(ctx context.Context, afterSeq int64, limit int) ([]storage.AuditAnchor, error) {
	const op = "sqlite.ListAuditAnchors"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, hash, at, token FROM audit_anchors WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []storage.AuditAnchor
	for rows.Next() {
		var a storage.AuditAnchor
		var at int64
		if err := rows.Scan(&a.Seq, &a.Hash, &at, &a.Token); err != nil {
			return nil, dbErr(op, err)
		}
		a.At = unnanos(at)
		out = append(out, a)
	}
	return out, dbErr(op, rows.Err())
}

// LastAuditAnchor implements storage.AnchorStore.
func (s *Store) LastAuditAnchor(ctx context.Context) (*storage.AuditAnchor, error) {
	const op = "sqlite.LastAuditAnchor"
	var a storage.AuditAnchor
	var at int64
	err := s.readRow(ctx, `SELECT seq, hash, at, token FROM audit_anchors ORDER BY seq DESC LIMIT 1`).Scan(&a.Seq, &a.Hash, &at, &a.Token)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "the audit log has no anchor yet")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	a.At = unnanos(at)
	return &a, nil
}
