package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

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

func scanThrottle(row pgx.Row) (storage.Throttle, error) {
	var t storage.Throttle
	var last, until, count, blocks int64
	err := row.Scan(&t.Key, &t.Subject, &count, &t.Seq, &blocks, &last, &until)
	t.Count, t.Blocks = int(count), int(blocks)
	t.LastAt, t.BlockedUntil = unnanos(last), unnanos(until)
	return t, err
}

func checkKeys(op string, keys ...string) error {
	for _, k := range keys {
		if !storable(k) {
			return kerr.E(kerr.Invalid, op, "a throttle key or subject holds a NUL byte or invalid UTF-8")
		}
	}
	return nil
}

// ReserveAttempt implements storage.GuardStore. Every rule's row is
// created if missing and then locked (SELECT ... FOR UPDATE) in key order,
// so concurrent reservations of the same keys run one after the other and
// never deadlock.
func (s *Store) ReserveAttempt(ctx context.Context, now time.Time, rules []storage.ThrottleRule) (storage.ThrottleVerdict, error) {
	const op = "postgres.ReserveAttempt"
	if err := storage.CheckThrottleRules(op, rules); err != nil {
		return storage.ThrottleVerdict{}, err
	}
	for _, r := range rules {
		if err := checkKeys(op, r.Key, r.Subject); err != nil {
			return storage.ThrottleVerdict{}, err
		}
	}
	order := make([]int, len(rules))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if rules[a].Key < rules[b].Key {
			return -1
		}
		return 1
	})
	var v storage.ThrottleVerdict
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		v = storage.ThrottleVerdict{}
		cur := make([]storage.Throttle, len(rules))
		for _, i := range order {
			r := rules[i]
			if _, err := tx.Exec(ctx, `INSERT INTO throttles (`+throttleCols+`) VALUES ($1, $2, 0, 0, 0, 0, 0) ON CONFLICT (key) DO NOTHING`, r.Key, r.Subject); err != nil {
				return err
			}
			t, err := scanThrottle(tx.QueryRow(ctx, `SELECT `+throttleCols+` FROM throttles WHERE key = $1 FOR UPDATE`, r.Key))
			if err != nil {
				return err
			}
			if now.Before(t.BlockedUntil) {
				return nil // blocked: count nothing
			}
			cur[i] = t
		}
		tickets := make([]int64, len(rules))
		for i, r := range rules {
			t := cur[i].Next(r, now)
			if _, err := tx.Exec(ctx, `UPDATE throttles SET subject=$2, count=$3, seq=$4, blocks=$5, last_at=$6, blocked_until=$7 WHERE key=$1`,
				t.Key, t.Subject, t.Count, t.Seq, t.Blocks, nanos(t.LastAt), nanos(t.BlockedUntil)); err != nil {
				return err
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
	const op = "postgres.ResetAttempts"
	if !storable(key) {
		return false, nil
	}
	var n int64
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE throttles SET count=0, blocks=0, blocked_until=0 WHERE key=$1 AND seq=$2`, key, ticket)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}

// ClearThrottles implements storage.GuardStore.
func (s *Store) ClearThrottles(ctx context.Context, subject string, audit []storage.AuditEntry) (int, error) {
	const op = "postgres.ClearThrottles"
	if subject == "" {
		return 0, kerr.E(kerr.Invalid, op, "name the subject whose throttles to clear")
	}
	if err := checkKeys(op, subject); err != nil {
		return 0, err
	}
	var n int64
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM throttles WHERE subject = $1`, subject)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
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
	const op = "postgres.GetThrottle"
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	if !storable(key) {
		return nil, kerr.E(kerr.NotFound, op, "no throttle record for this key")
	}
	t, err := scanThrottle(s.pool.QueryRow(ctx, `SELECT `+throttleCols+` FROM throttles WHERE key = $1`, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "no throttle record for this key")
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return &t, nil
}

// PruneThrottles implements storage.GuardStore.
func (s *Store) PruneThrottles(ctx context.Context, t time.Time) (int, error) {
	const op = "postgres.PruneThrottles"
	var n int64
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM throttles WHERE last_at < $1 AND blocked_until <= $1`, nanos(t))
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// Tally implements storage.GuardStore. The upsert locks the key's row, so
// concurrent tallies of one key run one after the other.
func (s *Store) Tally(ctx context.Context, key string, now time.Time, every time.Duration) (int64, time.Time, bool, error) {
	const op = "postgres.Tally"
	if key == "" || len(key) > 128 || every <= 0 || !storable(key) {
		return 0, time.Time{}, false, kerr.E(kerr.Invalid, op, "a tally needs a key of 1 to 128 bytes of text and a positive period")
	}
	var n, since int64
	var due bool
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		due = false
		if err := tx.QueryRow(ctx, `INSERT INTO tallies (key, n, since) VALUES ($1, 1, $2)
			ON CONFLICT (key) DO UPDATE SET n = tallies.n + 1 RETURNING n, since`, key, nanos(now)).Scan(&n, &since); err != nil {
			return err
		}
		if now.Sub(unnanos(since)) >= every {
			due = true
			_, err := tx.Exec(ctx, `UPDATE tallies SET n = 0, since = $2 WHERE key = $1`, key, nanos(now))
			return err
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, false, err
	}
	return n, unnanos(since), due, nil
}

// PutUserEndSessions implements storage.GuardStore.
func (s *Store) PutUserEndSessions(ctx context.Context, u *storage.User, keep string, audit []storage.AuditEntry) (int, error) {
	const op = "postgres.PutUserEndSessions"
	if u == nil || u.ID == "" || u.LoginID == "" || u.Version < 0 {
		return 0, kerr.E(kerr.Invalid, op, "a user needs an ID, a login ID and a non-negative version")
	}
	if !storable(keep) {
		return 0, kerr.E(kerr.Invalid, op, "the session to keep holds a NUL byte or invalid UTF-8")
	}
	row := *u
	row.Version = u.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return 0, err
	}
	var n int64
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		if err := putUserTx(ctx, tx, op, &row, body, u.Version); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, row.ID, keep)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
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

// auditTx is the transaction Store.write hands to its fn: a pgx.Tx that
// also carries the store's audit key, so that appendAudit seals with it
// while keeping the signature every caller uses.
type auditTx struct {
	pgx.Tx
	key *storage.AuditKey
}

var _ storage.AnchorStore = (*Store)(nil)

// PutAuditAnchor implements storage.AnchorStore. It locks the chain head
// row, so anchors are appended one at a time.
func (s *Store) PutAuditAnchor(ctx context.Context, a *storage.AuditAnchor) error {
	const op = "postgres.PutAuditAnchor"
	if err := storage.CheckAnchor(op, a); err != nil {
		return err
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM audit_head WHERE only_row FOR UPDATE`); err != nil {
			return err
		}
		var hash []byte
		err := tx.QueryRow(ctx, `SELECT hash FROM audit WHERE seq = $1`, a.Seq).Scan(&hash)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && string(hash) != string(a.Hash) {
			return kerr.E(kerr.FailedPrecondition, op, "audit entry %d does not exist with the anchored hash", a.Seq)
		}
		if err != nil {
			return err
		}
		var last int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM audit_anchors`).Scan(&last); err != nil {
			return err
		}
		if a.Seq <= last {
			return kerr.E(kerr.Conflict, op, "entry %d is not after the last anchored entry %d", a.Seq, last)
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit_anchors (seq, hash, at, token) VALUES ($1, $2, $3, $4)`, a.Seq, a.Hash, nanos(a.At), a.Token)
		return err
	})
}

// ListAuditAnchors implements storage.AnchorStore.
func (s *Store) ListAuditAnchors(ctx context.Context, afterSeq int64, limit int) ([]storage.AuditAnchor, error) {
	const op = "postgres.ListAuditAnchors"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, hash, at, token FROM audit_anchors WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []storage.AuditAnchor
	for rows.Next() {
		var a storage.AuditAnchor
		var at int64
		if err := rows.Scan(&a.Seq, &a.Hash, &at, &a.Token); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		a.At = unnanos(at)
		out = append(out, a)
	}
	return out, dbErr(ctx, op, rows.Err())
}

// LastAuditAnchor implements storage.AnchorStore.
func (s *Store) LastAuditAnchor(ctx context.Context) (*storage.AuditAnchor, error) {
	const op = "postgres.LastAuditAnchor"
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	var a storage.AuditAnchor
	var at int64
	err := s.pool.QueryRow(ctx, `SELECT seq, hash, at, token FROM audit_anchors ORDER BY seq DESC LIMIT 1`).Scan(&a.Seq, &a.Hash, &at, &a.Token)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "the audit log has no anchor yet")
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	a.At = unnanos(at)
	return &a, nil
}
