package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// eventState returns the delivery columns of ev: delivered_at (nil until
// delivered) and gave_up.
func eventState(ev *storage.Event) (any, bool) {
	var delivered any
	if !ev.DeliveredAt.IsZero() {
		delivered = ev.DeliveredAt.UnixNano()
	}
	return delivered, ev.GaveUp && ev.DeliveredAt.IsZero()
}

// eventColumns holds outbox rows as column arrays, for one INSERT ...
// SELECT FROM unnest.
type eventColumns struct {
	n                       int
	id, typ, caseID         []string
	created, next, attempts []int64
	delivered               []*int64
	gaveUp                  []bool
	bodies                  [][]byte
}

// eventRows encodes evs for queueEvents.
func eventRows(op string, evs []storage.Event) (*eventColumns, error) {
	n := len(evs)
	r := &eventColumns{n: n, id: make([]string, n), typ: make([]string, n), caseID: make([]string, n),
		created: make([]int64, n), next: make([]int64, n), attempts: make([]int64, n),
		delivered: make([]*int64, n), gaveUp: make([]bool, n), bodies: make([][]byte, n)}
	for i := range evs {
		ev := &evs[i]
		b, err := encode(op, ev)
		if err != nil {
			return nil, err
		}
		d, g := eventState(ev)
		if d != nil {
			v := d.(int64)
			r.delivered[i] = &v
		}
		r.id[i], r.typ[i], r.caseID[i] = ev.ID, ev.Type, ev.CaseID
		r.created[i], r.next[i], r.gaveUp[i], r.attempts[i], r.bodies[i] = nanos(ev.CreatedAt), nanos(ev.NextAttemptAt), g, int64(ev.Attempts), b
	}
	return r, nil
}

// queueEvents queues one statement writing all events. ON CONFLICT DO
// NOTHING skips an ID that exists (or repeats in the commit) instead of
// aborting, and the row count tells: kerr.Conflict.
func queueEvents(b *pgx.Batch, op string, r *eventColumns) {
	if r.n == 0 {
		return
	}
	b.Queue(`INSERT INTO outbox (id, type, case_id, created_at, next_attempt_at, delivered_at, gave_up, attempts, body)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::boolean[], $8::bigint[], $9::jsonb[])
		ON CONFLICT (id) DO NOTHING`, r.id, r.typ, r.caseID, r.created, r.next, r.delivered, r.gaveUp, r.attempts, r.bodies).
		Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != int64(r.n) {
				return kerr.E(kerr.Conflict, op, "an outbox event ID exists already (or repeats in the commit); event IDs must be unique")
			}
			return nil
		})
}

// The events a worker may deliver, in delivery order; the partial index
// outbox_due holds exactly these rows in this order.
const dueQuery = `SELECT body FROM outbox WHERE delivered_at IS NULL AND NOT gave_up AND next_attempt_at <= $1
	ORDER BY next_attempt_at, created_at, id LIMIT $2`

// DueEvents implements storage.OutboxStore.
func (s *Store) DueEvents(ctx context.Context, now time.Time, limit int) ([]storage.Event, error) {
	const op = "postgres.DueEvents"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, dueQuery, nanos(now), limit)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return scanEvents(ctx, op, rows)
}

func scanEvents(ctx context.Context, op string, rows pgx.Rows) ([]storage.Event, error) {
	defer rows.Close()
	var out []storage.Event
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var ev storage.Event
		if err := decode(op, body, &ev); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, dbErr(ctx, op, rows.Err())
}

// ClaimEvents implements storage.OutboxStore. The due rows are locked FOR
// UPDATE SKIP LOCKED, so a concurrent claim passes over them instead of
// waiting, and their next_attempt_at moves to now+lease before the commit.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]storage.Event, error) {
	const op = "postgres.ClaimEvents"
	if limit < 1 || limit > 1000 || lease <= 0 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d must be 1..1000 and lease %s positive", limit, lease)
	}
	var out []storage.Event
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, dueQuery+` FOR UPDATE SKIP LOCKED`, nanos(now), limit)
		if err != nil {
			return err
		}
		if out, err = scanEvents(ctx, op, rows); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		claimed := make([]string, len(out))
		for i, ev := range out {
			claimed[i] = ev.ID
		}
		// The body keeps the pre-claim NextAttemptAt; only the column,
		// which due-ness is decided on, moves.
		_, err = tx.Exec(ctx, `UPDATE outbox SET next_attempt_at = $1 WHERE id = ANY($2::text[])`, nanos(now.Add(lease)), claimed)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) updateEvent(ctx context.Context, op, id string, fn func(ev *storage.Event)) error {
	if !storable(id) {
		return kerr.E(kerr.NotFound, op, "outbox event %q does not exist", id)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		var body []byte
		err := tx.QueryRow(ctx, `SELECT body FROM outbox WHERE id = $1 FOR UPDATE`, id).Scan(&body)
		if errors.Is(err, pgx.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "outbox event %q does not exist", id)
		}
		if err != nil {
			return err
		}
		var ev storage.Event
		if err := decode(op, body, &ev); err != nil {
			return err
		}
		fn(&ev)
		nb, err := encode(op, &ev)
		if err != nil {
			return err
		}
		delivered, gaveUp := eventState(&ev)
		_, err = tx.Exec(ctx, `UPDATE outbox SET next_attempt_at = $2, delivered_at = $3, gave_up = $4, attempts = $5, body = $6 WHERE id = $1`,
			id, nanos(ev.NextAttemptAt), delivered, gaveUp, int64(ev.Attempts), nb)
		return err
	})
}

// MarkDelivered implements storage.OutboxStore.
func (s *Store) MarkDelivered(ctx context.Context, id string, t time.Time) error {
	const op = "postgres.MarkDelivered"
	if t.IsZero() {
		return kerr.E(kerr.Invalid, op, "delivery time is required")
	}
	return s.updateEvent(ctx, op, id, func(ev *storage.Event) {
		if ev.DeliveredAt.IsZero() {
			ev.DeliveredAt = t
		}
	})
}

// MarkFailed implements storage.OutboxStore.
func (s *Store) MarkFailed(ctx context.Context, id string, attempts int, next time.Time, errMsg string) error {
	const op = "postgres.MarkFailed"
	return s.updateEvent(ctx, op, id, func(ev *storage.Event) {
		ev.Attempts = attempts
		ev.NextAttemptAt = next
		ev.GaveUp = next.IsZero()
		ev.LastError = errMsg
	})
}
