package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.ReminderStore = (*Store)(nil)

// OpenCases implements storage.ReminderStore over the index cases_state
// (state, updated_at).
func (s *Store) OpenCases(ctx context.Context, states []string, after storage.ReminderCursor, limit int) ([]*storage.Case, error) {
	const op = "postgres.OpenCases"
	if limit < 1 || limit > 1000 || len(states) == 0 || len(states) > storage.MaxFilterValues {
		return nil, kerr.E(kerr.Invalid, op, "limit %d must be 1..1000 and states 1..%d", limit, storage.MaxFilterValues)
	}
	if !storable(after.ID) {
		return nil, kerr.E(kerr.Invalid, op, "cursor ID holds a NUL byte")
	}
	for _, st := range states {
		if !storable(st) {
			return nil, kerr.E(kerr.Invalid, op, "state holds a NUL byte")
		}
	}
	at := nanos(after.UpdatedAt)
	rows, err := s.pool.Query(ctx, `SELECT c.version, b.body FROM cases c JOIN case_bodies b ON b.id = c.id
		WHERE c.state = ANY($1::text[]) AND (c.updated_at, c.id) > ($2, $3)
		ORDER BY c.updated_at, c.id LIMIT $4`, states, at, after.ID, limit)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []*storage.Case
	for rows.Next() {
		var version int64
		var body []byte
		if err := rows.Scan(&version, &body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var c storage.Case
		if err := decode(op, body, &c); err != nil {
			return nil, err
		}
		c.Version = version
		out = append(out, &c)
	}
	return out, dbErr(ctx, op, rows.Err())
}

// RecordReminder implements storage.ReminderStore.
func (s *Store) RecordReminder(ctx context.Context, caseID, key string, at time.Time, events []storage.Event, audit []storage.AuditEntry) (bool, error) {
	const op = "postgres.RecordReminder"
	if key == "" || len(key) > 128 || caseID == "" || !storable(key) {
		return false, kerr.E(kerr.Invalid, op, "a reminder needs a case and a key of 1 to 128 bytes")
	}
	if !storable(caseID) {
		return false, kerr.E(kerr.NotFound, op, "case %q does not exist", caseID)
	}
	for _, ev := range events {
		if ev.ID == "" {
			return false, kerr.E(kerr.Invalid, op, "every outbox event needs an ID")
		}
	}
	rows, err := eventRows(op, events)
	if err != nil {
		return false, err
	}
	recorded := false
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		recorded = false
		if err := lockCase(ctx, tx, op, caseID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO case_reminders (case_id, key, sent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, caseID, key, nanos(at))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		b := &pgx.Batch{}
		queueEvents(b, op, rows)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if sealed, err = appendAudit(ctx, tx, op, audit); err != nil {
			return err
		}
		recorded = true
		return nil
	})
	if err != nil {
		return false, err
	}
	if recorded {
		copy(audit, sealed)
	}
	return recorded, nil
}
