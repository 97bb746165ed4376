package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.RetentionStore = (*Store)(nil)

// insertBlobRefs records every blob key row names in case_blobs (kept for
// as long as the case: a key named once stays the case's).
func insertBlobRefs(ctx context.Context, tx *wtx, op string, row *storage.Case) error {
	for _, k := range storage.CaseBlobKeys(row) {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO case_blobs (blob_key, case_id) VALUES (?, ?)`, k, row.ID); err != nil {
			return dbErr(op, err)
		}
	}
	return nil
}

// upsertRetention creates or replaces the retention row of r.CaseID.
func upsertRetention(ctx context.Context, tx *wtx, op string, r *storage.Retention) error {
	body, err := encode(op, r)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO retention (case_id, company_id, until_date, deleting, body) VALUES (?,?,?,?,?)
		ON CONFLICT (case_id) DO UPDATE SET company_id = excluded.company_id, until_date = excluded.until_date,
		deleting = excluded.deleting, body = excluded.body`, r.CaseID, r.CompanyID, r.Until.String(), boolInt(r.Deleting), body)
	return dbErr(op, err)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PutRetention implements storage.RetentionStore.
func (s *Store) PutRetention(ctx context.Context, r *storage.Retention, audit []storage.AuditEntry) error {
	const op = "sqlite.PutRetention"
	if err := storage.CheckRetention(op, r); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		if err := caseExists(ctx, tx, op, r.CaseID); err != nil {
			return err
		}
		if err := notDeleting(ctx, tx, op, r.CaseID); err != nil {
			return err
		}
		if err := upsertRetention(ctx, tx, op, r); err != nil {
			return err
		}
		var err error
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// notDeleting returns kerr.FailedPrecondition if the deletion of case id
// has begun.
func notDeleting(ctx context.Context, tx *wtx, op, id string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM retention WHERE case_id = ? AND deleting = 1`, id).Scan(&n); err != nil {
		return dbErr(op, err)
	}
	if n > 0 {
		return kerr.E(kerr.FailedPrecondition, op, "case %q is being deleted at the end of its retention", id)
	}
	return nil
}

// GetRetention implements storage.RetentionStore.
func (s *Store) GetRetention(ctx context.Context, caseID string) (*storage.Retention, error) {
	const op = "sqlite.GetRetention"
	var body string
	err := s.readRow(ctx, `SELECT body FROM retention WHERE case_id = ?`, caseID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "case %q has no retention", caseID)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	var r storage.Retention
	if err := decode(op, body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PutHold implements storage.RetentionStore.
func (s *Store) PutHold(ctx context.Context, h *storage.Hold, audit []storage.AuditEntry) error {
	const op = "sqlite.PutHold"
	if err := storage.CheckHold(op, h); err != nil {
		return err
	}
	body, err := encode(op, h)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		if err := caseExists(ctx, tx, op, h.CaseID); err != nil {
			return err
		}
		if err := notDeleting(ctx, tx, op, h.CaseID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO retention_holds (case_id, company_id, body) VALUES (?,?,?)
			ON CONFLICT (case_id, company_id) DO UPDATE SET body = excluded.body`, h.CaseID, h.CompanyID, body); err != nil {
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

// DeleteHold implements storage.RetentionStore.
func (s *Store) DeleteHold(ctx context.Context, caseID, companyID string, audit []storage.AuditEntry) error {
	const op = "sqlite.DeleteHold"
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM retention_holds WHERE case_id = ? AND company_id = ?`, caseID, companyID)
		if err != nil {
			return dbErr(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kerr.E(kerr.NotFound, op, "company %q holds no legal hold on case %q", companyID, caseID)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// ListHolds implements storage.RetentionStore.
func (s *Store) ListHolds(ctx context.Context, caseID string) ([]storage.Hold, error) {
	const op = "sqlite.ListHolds"
	rows, err := s.r.QueryContext(ctx, `SELECT body FROM retention_holds WHERE case_id = ? ORDER BY company_id`, caseID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []storage.Hold
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(op, err)
		}
		var h storage.Hold
		if err := decode(op, body, &h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, dbErr(op, rows.Err())
}

func (s *Store) retentions(ctx context.Context, op, query string, args ...any) ([]storage.Retention, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []storage.Retention
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(op, err)
		}
		var r storage.Retention
		if err := decode(op, body, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, dbErr(op, rows.Err())
}

// DueRetentions implements storage.RetentionStore.
func (s *Store) DueRetentions(ctx context.Context, through civil.Date, after storage.RetentionCursor, limit int) ([]storage.Retention, error) {
	const op = "sqlite.DueRetentions"
	if err := storage.CheckRetentionPage(op, limit); err != nil {
		return nil, err
	}
	return s.retentions(ctx, op, `SELECT r.body FROM retention r INDEXED BY retention_due
		WHERE r.until_date <= ? AND (r.until_date, r.case_id) > (?, ?) AND r.deleting = 0
		  AND NOT EXISTS (SELECT 1 FROM retention_holds h WHERE h.case_id = r.case_id)
		ORDER BY r.until_date, r.case_id LIMIT ?`, through.String(), cursorDate(after), after.CaseID, limit)
}

// cursorDate is the until_date a cursor starts after: "" (before every
// date) for the zero cursor.
func cursorDate(c storage.RetentionCursor) string {
	if c.Until.IsZero() {
		return ""
	}
	return c.Until.String()
}

// UpcomingDeletions implements storage.RetentionStore.
func (s *Store) UpcomingDeletions(ctx context.Context, companyID string, through civil.Date, after storage.RetentionCursor, limit int) ([]storage.Retention, error) {
	const op = "sqlite.UpcomingDeletions"
	if err := storage.CheckRetentionPage(op, limit); err != nil {
		return nil, err
	}
	return s.retentions(ctx, op, `SELECT r.body FROM retention r INDEXED BY retention_company
		WHERE r.company_id = ? AND r.until_date <= ? AND (r.until_date, r.case_id) > (?, ?)
		  AND NOT EXISTS (SELECT 1 FROM retention_holds h WHERE h.case_id = r.case_id)
		ORDER BY r.until_date, r.case_id LIMIT ?`, companyID, through.String(), cursorDate(after), after.CaseID, limit)
}

// DeletingRetentions implements storage.RetentionStore.
func (s *Store) DeletingRetentions(ctx context.Context, limit int) ([]storage.Retention, error) {
	const op = "sqlite.DeletingRetentions"
	if err := storage.CheckRetentionPage(op, limit); err != nil {
		return nil, err
	}
	return s.retentions(ctx, op, `SELECT body FROM retention WHERE deleting = 1 ORDER BY case_id LIMIT ?`, limit)
}

// MarkNoticed implements storage.RetentionStore.
func (s *Store) MarkNoticed(ctx context.Context, caseID string, at time.Time, events []storage.Event, audit []storage.AuditEntry) (bool, error) {
	const op = "sqlite.MarkNoticed"
	for _, ev := range events {
		if ev.ID == "" {
			return false, kerr.E(kerr.Invalid, op, "every outbox event needs an ID")
		}
	}
	var sealed []storage.AuditEntry
	wrote := false
	err := s.write(ctx, op, func(tx *wtx) error {
		wrote = false
		var body string
		err := tx.QueryRowContext(ctx, `SELECT body FROM retention WHERE case_id = ?`, caseID).Scan(&body)
		if errors.Is(err, sql.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "case %q has no retention", caseID)
		}
		if err != nil {
			return dbErr(op, err)
		}
		var r storage.Retention
		if err := decode(op, body, &r); err != nil {
			return err
		}
		if !r.NoticeAt.IsZero() {
			return nil
		}
		r.NoticeAt = at
		if body, err = encode(op, &r); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE retention SET body = ? WHERE case_id = ?`, body, caseID); err != nil {
			return dbErr(op, err)
		}
		for _, ev := range events {
			if err := insertEvent(ctx, tx, op, ev); err != nil {
				return err
			}
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		wrote = err == nil
		return err
	})
	if err != nil {
		return false, err
	}
	if wrote {
		copy(audit, sealed)
	}
	return wrote, nil
}

// pinSet holds the blob pins of this process. The embedded database has
// one process (one open Store per file), so a pin need not be durable: a
// crash ends the call that pinned too. Keeping pins in memory spares
// every blob write a commit (an fsync). mu also orders pins against
// BeginDeletion, which holds it from before its transaction until after
// its commit: a pin taken before sees none of its marks and is seen by
// it; a pin taken after reads its committed marks.
type pinSet struct {
	mu sync.Mutex
	m  map[string]time.Time // key -> latest pin
}

// maxPins is the size past which PinBlob drops pins older than PinTTL.
const maxPins = 4096

// PinBlob implements storage.RetentionStore, in memory (see pinSet); a
// key marked removing in blob_pins is refused.
func (s *Store) PinBlob(ctx context.Context, key string, at time.Time) error {
	const op = "sqlite.PinBlob"
	if !storage.ValidKey(key) {
		return kerr.E(kerr.Invalid, op, "%q is not a blob key", key)
	}
	s.pins.mu.Lock()
	defer s.pins.mu.Unlock()
	if s.pins.m == nil {
		s.pins.m = map[string]time.Time{}
	}
	if len(s.pins.m) > maxPins {
		for k, t := range s.pins.m {
			if t.Before(at.Add(-storage.PinTTL)) {
				delete(s.pins.m, k)
			}
		}
	}
	var removing int
	err := s.readRow(ctx, `SELECT removing FROM blob_pins WHERE blob_key = ?`, key).Scan(&removing)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return dbErr(op, err)
	}
	if removing == 1 {
		return kerr.E(kerr.Unavailable, op, "blob %s is being removed by the retention sweep; store it again in a minute", key)
	}
	if prev, ok := s.pins.m[key]; !ok || at.After(prev) {
		s.pins.m[key] = at
	}
	return nil
}

// pinnedAfter reports whether key was pinned after t; the caller holds
// s.pins.mu.
func (s *Store) pinnedAfter(key string, t time.Time) bool {
	p, ok := s.pins.m[key]
	return ok && p.After(t)
}

// CaseBlobs implements storage.RetentionStore.
func (s *Store) CaseBlobs(ctx context.Context, caseID string) ([]string, error) {
	const op = "sqlite.CaseBlobs"
	rows, err := s.r.QueryContext(ctx, `SELECT blob_key FROM case_blobs WHERE case_id = ? ORDER BY blob_key`, caseID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, k)
	}
	return out, dbErr(op, rows.Err())
}

// BeginDeletion implements storage.RetentionStore.
func (s *Store) BeginDeletion(ctx context.Context, rec *storage.DeletionRecord, pinnedBefore time.Time, audit []storage.AuditEntry) error {
	const op = "sqlite.BeginDeletion"
	if err := storage.CheckDeletion(op, rec); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	var removing []string
	s.pins.mu.Lock() // see pinSet
	defer s.pins.mu.Unlock()
	err := s.write(ctx, op, func(tx *wtx) error {
		removing = nil
		var body string
		var deleting, holds int
		err := tx.QueryRowContext(ctx, `SELECT body, deleting, (SELECT count(*) FROM retention_holds h WHERE h.case_id = r.case_id)
			FROM retention r WHERE case_id = ?`, rec.CaseID).Scan(&body, &deleting, &holds)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return kerr.E(kerr.FailedPrecondition, op, "case %q has no retention: it cannot be deleted", rec.CaseID)
		case err != nil:
			return dbErr(op, err)
		case deleting == 1:
			return kerr.E(kerr.Conflict, op, "the deletion of case %q has begun already", rec.CaseID)
		case holds > 0:
			return kerr.E(kerr.FailedPrecondition, op, "case %q is under a legal hold", rec.CaseID)
		}
		var r storage.Retention
		if err := decode(op, body, &r); err != nil {
			return err
		}
		r.Deleting = true
		if body, err = encode(op, &r); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE retention SET deleting = 1, body = ? WHERE case_id = ?`, body, rec.CaseID); err != nil {
			return dbErr(op, err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT blob_key FROM case_blobs WHERE case_id = ? ORDER BY blob_key`, rec.CaseID)
		if err != nil {
			return dbErr(op, err)
		}
		var keys []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return dbErr(op, err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(op, err)
		}
		for _, k := range keys {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM case_blobs b WHERE b.blob_key = ? AND b.case_id <> ?
				AND NOT EXISTS (SELECT 1 FROM retention r WHERE r.case_id = b.case_id AND r.deleting = 1)`, k, rec.CaseID).Scan(&others); err != nil {
				return dbErr(op, err)
			}
			if others > 0 {
				continue
			}
			// Mark the key removing unless a writer pinned it after
			// pinnedBefore: it may be about to name it.
			if s.pinnedAfter(k, pinnedBefore) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO blob_pins (blob_key, pinned_at, removing) VALUES (?, 0, 1)
				ON CONFLICT (blob_key) DO UPDATE SET removing = 1`, k); err != nil {
				return dbErr(op, err)
			}
			removing = append(removing, k)
		}
		stored := *rec
		stored.Removing = removing
		b, err := encode(op, &stored)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deletion_records (case_id, deleted_at, finished, body) VALUES (?,?,0,?)`,
			rec.CaseID, nanos(rec.DeletedAt), b); err != nil {
			return dbErr(op, err)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err != nil {
		return err
	}
	rec.Removing = removing
	copy(audit, sealed)
	return nil
}

// FinishDeletion implements storage.RetentionStore.
func (s *Store) FinishDeletion(ctx context.Context, caseID string) error {
	const op = "sqlite.FinishDeletion"
	return s.write(ctx, op, func(tx *wtx) error {
		var body string
		var finished int
		err := tx.QueryRowContext(ctx, `SELECT body, finished FROM deletion_records WHERE case_id = ?`, caseID).Scan(&body, &finished)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return kerr.E(kerr.FailedPrecondition, op, "the deletion of case %q has not begun", caseID)
		case err != nil:
			return dbErr(op, err)
		case finished == 1:
			return nil
		}
		var rec storage.DeletionRecord
		if err := decode(op, body, &rec); err != nil {
			return err
		}
		for _, k := range rec.Removing {
			if _, err := tx.ExecContext(ctx, `DELETE FROM blob_pins WHERE blob_key = ? AND removing = 1`, k); err != nil {
				return dbErr(op, err)
			}
		}
		for _, q := range deleteCaseRows {
			if _, err := tx.ExecContext(ctx, q, caseID); err != nil {
				return dbErr(op, err)
			}
		}
		rec.Finished = true
		if body, err = encode(op, &rec); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE deletion_records SET finished = 1, body = ? WHERE case_id = ?`, body, caseID)
		return dbErr(op, err)
	})
}

// deleteCaseRows remove a case's rows, children first. The audit entries
// stay: the log is append-only, and its chain must still verify.
var deleteCaseRows = []string{
	`DELETE FROM retention_holds WHERE case_id = ?`,
	`DELETE FROM retention WHERE case_id = ?`,
	`DELETE FROM case_blobs WHERE case_id = ?`,
	`DELETE FROM case_hidden WHERE case_id = ?`,
	`DELETE FROM case_comments WHERE case_id = ?`,
	`DELETE FROM case_access WHERE case_id = ?`,
	`DELETE FROM case_parties WHERE case_id = ?`,
	`DELETE FROM outbox WHERE case_id = ?`,
	`DELETE FROM case_bodies WHERE id = ?`,
	`DELETE FROM cases WHERE id = ?`,
}

// GetDeletionRecord implements storage.RetentionStore.
func (s *Store) GetDeletionRecord(ctx context.Context, caseID string) (*storage.DeletionRecord, error) {
	const op = "sqlite.GetDeletionRecord"
	var body string
	err := s.readRow(ctx, `SELECT body FROM deletion_records WHERE case_id = ?`, caseID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "case %q has no deletion record", caseID)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	var r storage.DeletionRecord
	if err := decode(op, body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

var _ storage.RetentionLoader = (*Store)(nil)

// ImportRetentions implements storage.RetentionLoader.
func (s *Store) ImportRetentions(ctx context.Context, rs []*storage.Retention, audit []storage.AuditEntry) error {
	const op = "sqlite.ImportRetentions"
	if len(rs) == 0 || len(rs) > storage.MaxImportBatch {
		return kerr.E(kerr.Invalid, op, "import 1 to %d retentions per call, not %d", storage.MaxImportBatch, len(rs))
	}
	for _, r := range rs {
		if err := storage.CheckRetention(op, r); err != nil {
			return err
		}
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		for _, r := range rs {
			if err := caseExists(ctx, tx, op, r.CaseID); err != nil {
				if errors.Is(err, kerr.NotFound) {
					return kerr.E(kerr.FailedPrecondition, op, "case %q does not exist: import it first", r.CaseID)
				}
				return err
			}
			if err := upsertRetention(ctx, tx, op, r); err != nil {
				return err
			}
		}
		var err error
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}
