package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.ReminderStore = (*Store)(nil)

// OpenCases implements storage.ReminderStore over the index cases_state
// (state, updated_at).
func (s *Store) OpenCases(ctx context.Context, states []string, after storage.ReminderCursor, limit int) ([]*storage.Case, error) {
	const op = "sqlite.OpenCases"
	if limit < 1 || limit > 1000 || len(states) == 0 || len(states) > storage.MaxFilterValues {
		return nil, kerr.E(kerr.Invalid, op, "limit %d must be 1..1000 and states 1..%d", limit, storage.MaxFilterValues)
	}
	args := make([]any, 0, len(states)+4)
	for _, st := range states {
		args = append(args, st)
	}
	at := nanos(after.UpdatedAt)
	args = append(args, at, at, after.ID, limit)
	rows, err := s.r.QueryContext(ctx, `SELECT c.version, b.body FROM cases c JOIN case_bodies b ON b.id = c.id
		WHERE c.state IN (?`+strings.Repeat(",?", len(states)-1)+`) AND (c.updated_at > ? OR (c.updated_at = ? AND c.id > ?))
		ORDER BY c.updated_at, c.id LIMIT ?`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*storage.Case
	for rows.Next() {
		var version int64
		var body string
		if err := rows.Scan(&version, &body); err != nil {
			return nil, dbErr(op, err)
		}
		var c storage.Case
		if err := decode(op, body, &c); err != nil {
			return nil, err
		}
		c.Version = version
		out = append(out, &c)
	}
	return out, dbErr(op, rows.Err())
}

// RecordReminder implements storage.ReminderStore.
func (s *Store) RecordReminder(ctx context.Context, caseID, key string, at time.Time, events []storage.Event, audit []storage.AuditEntry) (bool, error) {
	const op = "sqlite.RecordReminder"
	if key == "" || len(key) > 128 || caseID == "" {
		return false, kerr.E(kerr.Invalid, op, "a reminder needs a case and a key of 1 to 128 bytes")
	}
	for _, ev := range events {
		if ev.ID == "" {
			return false, kerr.E(kerr.Invalid, op, "every outbox event needs an ID")
		}
	}
	recorded := false
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		if err := caseExists(ctx, tx, op, caseID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO case_reminders (case_id, key, sent_at) VALUES (?,?,?) ON CONFLICT DO NOTHING`, caseID, key, nanos(at))
		if err != nil {
			return dbErr(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		for _, ev := range events {
			if err := insertEvent(ctx, tx, op, ev); err != nil {
				return err
			}
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
