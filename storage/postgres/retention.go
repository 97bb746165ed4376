package postgres

import (
	"context"
	"errors"
	"time"

	"cloud.google.com/go/civil"
	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.RetentionStore = (*Store)(nil)

// queueBlobRefs records every blob key row names in case_blobs.
func queueBlobRefs(b *pgx.Batch, row *storage.Case) {
	for _, k := range storage.CaseBlobKeys(row) {
		b.Queue(`INSERT INTO case_blobs (blob_key, case_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, k, row.ID)
	}
}

// appendBlobRefs appends the distinct case_blobs rows of c (for COPY).
func appendBlobRefs(refs [][]any, c *storage.Case) [][]any {
	seen := map[string]bool{}
	for _, k := range storage.CaseBlobKeys(c) {
		if !seen[k] {
			seen[k] = true
			refs = append(refs, []any{k, c.ID})
		}
	}
	return refs
}

const upsertRetention = `INSERT INTO retention (case_id, company_id, until_date, deleting, body) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (case_id) DO UPDATE SET company_id = excluded.company_id, until_date = excluded.until_date,
	deleting = excluded.deleting, body = excluded.body`

// queueRetention queues the upsert of r's row (a completion's commit).
func queueRetention(b *pgx.Batch, op string, r *storage.Retention) error {
	body, err := encode(op, r)
	if err != nil {
		return err
	}
	b.Queue(upsertRetention, r.CaseID, r.CompanyID, r.Until.String(), r.Deleting, body)
	return nil
}

// checkIDs refuses IDs PostgreSQL text cannot hold: they name no case.
func checkIDs(op string, ids ...string) error {
	for _, id := range ids {
		if !storable(id) {
			return kerr.E(kerr.NotFound, op, "case %q does not exist", id)
		}
	}
	return nil
}

// notDeleting returns kerr.FailedPrecondition if the deletion of case id
// has begun.
func notDeleting(ctx context.Context, tx pgx.Tx, op, id string) error {
	var deleting bool
	err := tx.QueryRow(ctx, `SELECT deleting FROM retention WHERE case_id = $1`, id).Scan(&deleting)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if deleting {
		return kerr.E(kerr.FailedPrecondition, op, "case %q is being deleted at the end of its retention", id)
	}
	return nil
}

// PutRetention implements storage.RetentionStore.
func (s *Store) PutRetention(ctx context.Context, r *storage.Retention, audit []storage.AuditEntry) error {
	const op = "postgres.PutRetention"
	if err := storage.CheckRetention(op, r); err != nil {
		return err
	}
	if err := checkIDs(op, r.CaseID); err != nil {
		return err
	}
	body, err := encode(op, r)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		if err := lockCase(ctx, tx, op, r.CaseID); err != nil {
			return err
		}
		if err := notDeleting(ctx, tx, op, r.CaseID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, upsertRetention, r.CaseID, r.CompanyID, r.Until.String(), r.Deleting, body); err != nil {
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

// GetRetention implements storage.RetentionStore.
func (s *Store) GetRetention(ctx context.Context, caseID string) (*storage.Retention, error) {
	const op = "postgres.GetRetention"
	notFound := kerr.E(kerr.NotFound, op, "case %q has no retention", caseID)
	if !storable(caseID) {
		return nil, notFound
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM retention WHERE case_id = $1`, caseID).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	var r storage.Retention
	if err := decode(op, body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PutHold implements storage.RetentionStore.
func (s *Store) PutHold(ctx context.Context, h *storage.Hold, audit []storage.AuditEntry) error {
	const op = "postgres.PutHold"
	if err := storage.CheckHold(op, h); err != nil {
		return err
	}
	if err := checkIDs(op, h.CaseID, h.CompanyID); err != nil {
		return err
	}
	if !storable(h.Reason) || !storable(h.UserID) {
		return kerr.E(kerr.Invalid, op, "hold reason holds a NUL byte or invalid UTF-8")
	}
	body, err := encode(op, h)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		if err := lockCase(ctx, tx, op, h.CaseID); err != nil {
			return err
		}
		// The retention row is locked so that a concurrent BeginDeletion
		// either sees this hold or has marked the case Deleting first.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM retention WHERE case_id = $1 FOR UPDATE`, h.CaseID); err != nil {
			return err
		}
		if err := notDeleting(ctx, tx, op, h.CaseID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO retention_holds (case_id, company_id, body) VALUES ($1, $2, $3)
			ON CONFLICT (case_id, company_id) DO UPDATE SET body = excluded.body`, h.CaseID, h.CompanyID, body); err != nil {
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

// DeleteHold implements storage.RetentionStore.
func (s *Store) DeleteHold(ctx context.Context, caseID, companyID string, audit []storage.AuditEntry) error {
	const op = "postgres.DeleteHold"
	notFound := kerr.E(kerr.NotFound, op, "company %q holds no legal hold on case %q", companyID, caseID)
	if !storable(caseID) || !storable(companyID) {
		return notFound
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM retention_holds WHERE case_id = $1 AND company_id = $2`, caseID, companyID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound
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
	const op = "postgres.ListHolds"
	if !storable(caseID) {
		return nil, nil
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT body FROM retention_holds WHERE case_id = $1 ORDER BY company_id`, caseID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []storage.Hold
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var h storage.Hold
		if err := decode(op, body, &h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, dbErr(ctx, op, rows.Err())
}

func (s *Store) retentions(ctx context.Context, op, query string, args ...any) ([]storage.Retention, error) {
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []storage.Retention
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var r storage.Retention
		if err := decode(op, body, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, dbErr(ctx, op, rows.Err())
}

// cursorDate is the until_date a cursor starts after: "" (before every
// date) for the zero cursor.
func cursorDate(c storage.RetentionCursor) string {
	if c.Until.IsZero() {
		return ""
	}
	return c.Until.String()
}

// DueRetentions implements storage.RetentionStore.
func (s *Store) DueRetentions(ctx context.Context, through civil.Date, after storage.RetentionCursor, limit int) ([]storage.Retention, error) {
	const op = "postgres.DueRetentions"
	if err := storage.CheckRetentionPage(op, limit); err != nil {
		return nil, err
	}
	if !storable(after.CaseID) {
		return nil, kerr.E(kerr.Invalid, op, "cursor case ID holds a NUL byte or invalid UTF-8")
	}
	return s.retentions(ctx, op, `SELECT r.body FROM retention r
		WHERE r.until_date <= $1 AND (r.until_date, r.case_id) > ($2, $3) AND NOT r.deleting
		  AND NOT EXISTS (SELECT 1 FROM retention_holds h WHERE h.case_id = r.case_id)
		ORDER BY r.until_date, r.case_id LIMIT $4`, through.String(), cursorDate(after), after.CaseID, limit)
}

// UpcomingDeletions implements storage.RetentionStore.
func (s *Store) UpcomingDeletions(ctx context.Context, companyID string, through civil.Date, after storage.RetentionCursor, limit int) ([]storage.Retention, error) {
	const op = "postgres.UpcomingDeletions"
	if err := storage.CheckRetentionPage(op, limit); err != nil {
		return nil, err
	}
	if !storable(companyID) || !storable(after.CaseID) {
		return nil, nil
	}
	return s.retentions(ctx, op, `SELECT r.body FROM retention r
		WHERE r.company_id = $1 AND r.until_date <= $2 AND (r.until_date, r.case_id) > ($3, $4)
		  AND NOT EXISTS (SELECT 1 FROM retention_holds h WHERE h.case_id = r.case_id)
		ORDER BY r.until_date, r.case_id LIMIT $5`, companyID, through.String(), cursorDate(after), after.CaseID, limit)
}

// DeletingRetentions implements storage.RetentionStore.
func (s *Store) DeletingRetentions(ctx context.Context, limit int) ([]storage.Retention, error) {
	const op = "postgres.DeletingRetentions"
	if err := storage.CheckRetentionPage(op, limit); err != nil {
		return nil, err
	}
	return s.retentions(ctx, op, `SELECT body FROM retention WHERE deleting ORDER BY case_id LIMIT $1`, limit)
}

// MarkNoticed implements storage.RetentionStore.
func (s *Store) MarkNoticed(ctx context.Context, caseID string, at time.Time, events []storage.Event, audit []storage.AuditEntry) (bool, error) {
	const op = "postgres.MarkNoticed"
	if err := checkIDs(op, caseID); err != nil {
		return false, err
	}
	evs, err := eventRows(op, events)
	if err != nil {
		return false, err
	}
	var sealed []storage.AuditEntry
	wrote := false
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		var body []byte
		err := tx.QueryRow(ctx, `SELECT body FROM retention WHERE case_id = $1 FOR UPDATE`, caseID).Scan(&body)
		if errors.Is(err, pgx.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "case %q has no retention", caseID)
		}
		if err != nil {
			return err
		}
		var r storage.Retention
		if err := decode(op, body, &r); err != nil {
			return err
		}
		if !r.NoticeAt.IsZero() {
			return nil
		}
		r.NoticeAt = at
		nb, err := encode(op, &r)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE retention SET body = $2 WHERE case_id = $1`, caseID, nb)
		queueEvents(b, op, evs)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
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

// PinBlob implements storage.RetentionStore. The upsert locks the key's
// blob_pins row, as BeginDeletion's marking does: of a pin and a marking
// of the same key, the later one sees the earlier one's result.
func (s *Store) PinBlob(ctx context.Context, key string, at time.Time) error {
	const op = "postgres.PinBlob"
	if !storage.ValidKey(key) {
		return kerr.E(kerr.Invalid, op, "%q is not a blob key", key)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO blob_pins AS p (blob_key, pinned_at, removing) VALUES ($1, $2, false)
			ON CONFLICT (blob_key) DO UPDATE SET pinned_at = greatest(p.pinned_at, excluded.pinned_at) WHERE NOT p.removing`, key, nanos(at))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kerr.E(kerr.Unavailable, op, "blob %s is being removed by the retention sweep; store it again in a minute", key)
		}
		return nil
	})
}

// CaseBlobs implements storage.RetentionStore.
func (s *Store) CaseBlobs(ctx context.Context, caseID string) ([]string, error) {
	const op = "postgres.CaseBlobs"
	if !storable(caseID) {
		return nil, nil
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT blob_key FROM case_blobs WHERE case_id = $1 ORDER BY blob_key`, caseID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return keys, dbErr(ctx, op, err)
}

// BeginDeletion implements storage.RetentionStore.
func (s *Store) BeginDeletion(ctx context.Context, rec *storage.DeletionRecord, pinnedBefore time.Time, audit []storage.AuditEntry) error {
	const op = "postgres.BeginDeletion"
	if err := storage.CheckDeletion(op, rec); err != nil {
		return err
	}
	if err := checkIDs(op, rec.CaseID); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	var removing []string
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		removing = nil
		var body []byte
		var deleting bool
		// FOR UPDATE: PutHold locks the same row, so a hold placed
		// concurrently is either seen here or waits and then finds the
		// case Deleting.
		err := tx.QueryRow(ctx, `SELECT body, deleting FROM retention WHERE case_id = $1 FOR UPDATE`, rec.CaseID).Scan(&body, &deleting)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return kerr.E(kerr.FailedPrecondition, op, "case %q has no retention: it cannot be deleted", rec.CaseID)
		case err != nil:
			return err
		case deleting:
			return kerr.E(kerr.Conflict, op, "the deletion of case %q has begun already", rec.CaseID)
		}
		var held bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM retention_holds WHERE case_id = $1)`, rec.CaseID).Scan(&held); err != nil {
			return err
		}
		if held {
			return kerr.E(kerr.FailedPrecondition, op, "case %q is under a legal hold", rec.CaseID)
		}
		var r storage.Retention
		if err := decode(op, body, &r); err != nil {
			return err
		}
		r.Deleting = true
		nb, err := encode(op, &r)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE retention SET deleting = true, body = $2 WHERE case_id = $1`, rec.CaseID, nb); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT blob_key FROM case_blobs WHERE case_id = $1 ORDER BY blob_key`, rec.CaseID)
		if err != nil {
			return err
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, k := range keys {
			// Lock the key's pin row first (creating it marked removing
			// when no writer ever pinned it), then look for other cases:
			// a writer that names the key pinned it first, and that pin
			// either committed before this lock (and is seen, being
			// younger than pinnedBefore) or waits for this transaction
			// and then finds the key removing.
			var removingNow bool
			err := tx.QueryRow(ctx, `INSERT INTO blob_pins AS p (blob_key, pinned_at, removing) VALUES ($1, 0, true)
				ON CONFLICT (blob_key) DO UPDATE SET removing = p.pinned_at < $2
				RETURNING removing`, k, nanos(pinnedBefore)).Scan(&removingNow)
			if err != nil {
				return err
			}
			if !removingNow {
				continue
			}
			var others bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM case_blobs b WHERE b.blob_key = $1 AND b.case_id <> $2
				AND NOT EXISTS (SELECT 1 FROM retention r WHERE r.case_id = b.case_id AND r.deleting))`, k, rec.CaseID).Scan(&others); err != nil {
				return err
			}
			if others {
				if _, err := tx.Exec(ctx, `UPDATE blob_pins SET removing = false WHERE blob_key = $1`, k); err != nil {
					return err
				}
				continue
			}
			removing = append(removing, k)
		}
		stored := *rec
		stored.Removing = removing
		b, err := encode(op, &stored)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deletion_records (case_id, deleted_at, finished, body) VALUES ($1, $2, false, $3)`,
			rec.CaseID, nanos(rec.DeletedAt), b); err != nil {
			return err
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
	const op = "postgres.FinishDeletion"
	if err := checkIDs(op, caseID); err != nil {
		return kerr.E(kerr.FailedPrecondition, op, "the deletion of case %q has not begun", caseID)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		var body []byte
		var finished bool
		err := tx.QueryRow(ctx, `SELECT body, finished FROM deletion_records WHERE case_id = $1 FOR UPDATE`, caseID).Scan(&body, &finished)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return kerr.E(kerr.FailedPrecondition, op, "the deletion of case %q has not begun", caseID)
		case err != nil:
			return err
		case finished:
			return nil
		}
		var rec storage.DeletionRecord
		if err := decode(op, body, &rec); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, k := range rec.Removing {
			b.Queue(`DELETE FROM blob_pins WHERE blob_key = $1 AND removing`, k)
		}
		for _, q := range deleteCaseRows {
			b.Queue(q, caseID)
		}
		rec.Finished = true
		nb, err := encode(op, &rec)
		if err != nil {
			return err
		}
		b.Queue(`UPDATE deletion_records SET finished = true, body = $2 WHERE case_id = $1`, caseID, nb)
		return tx.SendBatch(ctx, b).Close()
	})
}

// deleteCaseRows remove a case's rows, children first. The audit entries
// stay: the log is append-only, and its chain must still verify.
var deleteCaseRows = []string{
	`DELETE FROM retention_holds WHERE case_id = $1`,
	`DELETE FROM retention WHERE case_id = $1`,
	`DELETE FROM case_blobs WHERE case_id = $1`,
	`DELETE FROM case_hidden WHERE case_id = $1`,
	`DELETE FROM case_comments WHERE case_id = $1`,
	`DELETE FROM case_access WHERE case_id = $1`,
	`DELETE FROM case_parties WHERE case_id = $1`,
	`DELETE FROM outbox WHERE case_id = $1`,
	`DELETE FROM case_bodies WHERE id = $1`,
	`DELETE FROM cases WHERE id = $1`,
}

// GetDeletionRecord implements storage.RetentionStore.
func (s *Store) GetDeletionRecord(ctx context.Context, caseID string) (*storage.DeletionRecord, error) {
	const op = "postgres.GetDeletionRecord"
	notFound := kerr.E(kerr.NotFound, op, "case %q has no deletion record", caseID)
	if !storable(caseID) {
		return nil, notFound
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM deletion_records WHERE case_id = $1`, caseID).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	var r storage.DeletionRecord
	if err := decode(op, body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

var _ storage.RetentionLoader = (*Store)(nil)

// ImportRetentions implements storage.RetentionLoader. A missing case is
// kerr.FailedPrecondition (the foreign key).
func (s *Store) ImportRetentions(ctx context.Context, rs []*storage.Retention, audit []storage.AuditEntry) error {
	const op = "postgres.ImportRetentions"
	if len(rs) == 0 || len(rs) > storage.MaxImportBatch {
		return kerr.E(kerr.Invalid, op, "import 1 to %d retentions per call, not %d", storage.MaxImportBatch, len(rs))
	}
	b := &pgx.Batch{}
	for _, r := range rs {
		if err := storage.CheckRetention(op, r); err != nil {
			return err
		}
		if err := checkIDs(op, r.CaseID, r.CompanyID); err != nil {
			return err
		}
		if err := queueRetention(b, op, r); err != nil {
			return err
		}
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
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
