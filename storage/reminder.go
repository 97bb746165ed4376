package storage

import (
	"context"
	"time"
)

// ReminderCursor pages OpenCases: the (UpdatedAt, ID) of the last case of
// the previous page; zero starts at the beginning.
type ReminderCursor struct {
	UpdatedAt time.Time
	ID        string
}

// ReminderStore serves the reminder pass (issue 12, "Reminders"): it
// finds the cases still waiting for someone, and records each reminder
// once, with its notices, so that several processes never send one twice.
type ReminderStore interface {
	// OpenCases returns up to limit (1 to 1000, else kerr.Invalid) cases
	// whose State is one of states, ordered by (UpdatedAt, ID), after the
	// cursor. Backends answer it from an index on (state, updated_at).
	OpenCases(ctx context.Context, states []string, after ReminderCursor, limit int) ([]*Case, error)
	// RecordReminder records that reminder key of case caseID was sent at
	// at, together with its outbox events and audit entries, in one
	// transaction; it returns false (and writes nothing) when that key is
	// recorded already. A key is 1 to 128 bytes (else kerr.Invalid); a
	// missing case is kerr.NotFound.
	RecordReminder(ctx context.Context, caseID, key string, at time.Time, events []Event, audit []AuditEntry) (bool, error)
}
