package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.PersonalStore = (*Store)(nil)

// caseExists returns kerr.NotFound unless case id exists.
func caseExists(ctx context.Context, tx *wtx, op, id string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cases WHERE id = ?`, id).Scan(&n); err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return kerr.E(kerr.NotFound, op, "case %q does not exist", id)
	}
	return nil
}

// SetHidden implements storage.PersonalStore.
func (s *Store) SetHidden(ctx context.Context, userID, caseID string, hidden bool, at time.Time, audit []storage.AuditEntry) error {
	const op = "sqlite.SetHidden"
	if err := storage.CheckPersonal(op, userID, caseID, nil); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		if err := caseExists(ctx, tx, op, caseID); err != nil {
			return err
		}
		var err error
		if hidden {
			_, err = tx.ExecContext(ctx, `INSERT INTO case_hidden (user_id, case_id, hidden_at) VALUES (?,?,?) ON CONFLICT DO NOTHING`, userID, caseID, nanos(at))
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM case_hidden WHERE user_id = ? AND case_id = ?`, userID, caseID)
		}
		if err != nil {
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

// IsHidden implements storage.PersonalStore.
func (s *Store) IsHidden(ctx context.Context, userID, caseID string) (bool, error) {
	const op = "sqlite.IsHidden"
	if err := storage.CheckPersonal(op, userID, caseID, nil); err != nil {
		return false, err
	}
	var n int
	if err := s.readRow(ctx, `SELECT count(*) FROM case_hidden WHERE user_id = ? AND case_id = ?`, userID, caseID).Scan(&n); err != nil {
		return false, dbErr(op, err)
	}
	return n > 0, nil
}

// PutComment implements storage.PersonalStore.
func (s *Store) PutComment(ctx context.Context, c *storage.Comment, audit []storage.AuditEntry) error {
	const op = "sqlite.PutComment"
	if c == nil {
		return kerr.E(kerr.Invalid, op, "no comment given")
	}
	if err := storage.CheckPersonal(op, c.UserID, c.CaseID, &c.Text); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		if err := caseExists(ctx, tx, op, c.CaseID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_comments (user_id, case_id, updated_at, text) VALUES (?,?,?,?)
			ON CONFLICT (user_id, case_id) DO UPDATE SET updated_at = excluded.updated_at, text = excluded.text`,
			c.UserID, c.CaseID, nanos(c.UpdatedAt), c.Text); err != nil {
			return dbErr(op, err)
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

// GetComment implements storage.PersonalStore.
func (s *Store) GetComment(ctx context.Context, userID, caseID string) (*storage.Comment, error) {
	const op = "sqlite.GetComment"
	if err := storage.CheckPersonal(op, userID, caseID, nil); err != nil {
		return nil, err
	}
	c := &storage.Comment{UserID: userID, CaseID: caseID}
	var at int64
	err := s.readRow(ctx, `SELECT updated_at, text FROM case_comments WHERE user_id = ? AND case_id = ?`, userID, caseID).Scan(&at, &c.Text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "user %q has no comment on case %q", userID, caseID)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	if at != 0 {
		c.UpdatedAt = time.Unix(0, at).UTC()
	}
	return c, nil
}

// DeleteComment implements storage.PersonalStore.
func (s *Store) DeleteComment(ctx context.Context, userID, caseID string, audit []storage.AuditEntry) error {
	const op = "sqlite.DeleteComment"
	if err := storage.CheckPersonal(op, userID, caseID, nil); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM case_comments WHERE user_id = ? AND case_id = ?`, userID, caseID)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(op, err)
		} else if n == 0 {
			return kerr.E(kerr.NotFound, op, "user %q has no comment on case %q", userID, caseID)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// hiddenFilter applies q.Hidden to a search whose rows come from `from`
// with case IDs in idCol. Excluding is an anti-join probing case_hidden's
// primary key (user_id, case_id) once per candidate row, so a page still
// reads one index range of case_access plus a probe per row; only-hidden
// drives the query from the user's key range of case_hidden (CROSS JOIN
// keeps SQLite from reordering it) and sorts those rows.
func hiddenFilter(q *storage.CaseQuery, from, idCol string, where []string, args []any) (string, []string, []any) {
	if q.HiddenFor == "" {
		return from, where, args
	}
	switch q.Hidden {
	case storage.HiddenExclude:
		where = append(where, `NOT EXISTS (SELECT 1 FROM case_hidden h WHERE h.user_id = ? AND h.case_id = `+idCol+`)`)
		args = append(args, q.HiddenFor)
	case storage.HiddenOnly:
		from = `case_hidden h CROSS JOIN ` + from + ` ON c.id = h.case_id`
		where = append([]string{`h.user_id = ?`}, where...)
		args = append([]any{q.HiddenFor}, args...)
	}
	return from, where, args
}
