package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.PersonalStore = (*Store)(nil)

// checkPersonal is storage.CheckPersonal plus what PostgreSQL text cannot
// hold: an ID with a NUL byte names no case (kerr.NotFound); such a
// comment text is kerr.Invalid.
func checkPersonal(op, userID, caseID string, text *string) error {
	if err := storage.CheckPersonal(op, userID, caseID, text); err != nil {
		return err
	}
	if !storable(userID) || !storable(caseID) {
		return kerr.E(kerr.NotFound, op, "case %q does not exist", caseID)
	}
	if text != nil && !storable(*text) {
		return kerr.E(kerr.Invalid, op, "comment holds a NUL byte")
	}
	return nil
}

// lockCase returns kerr.NotFound unless case id exists, and keeps it from
// being removed until tx ends.
func lockCase(ctx context.Context, tx pgx.Tx, op, id string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR KEY SHARE`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return kerr.E(kerr.NotFound, op, "case %q does not exist", id)
	}
	return err
}

// SetHidden implements storage.PersonalStore.
func (s *Store) SetHidden(ctx context.Context, userID, caseID string, hidden bool, at time.Time, audit []storage.AuditEntry) error {
	const op = "postgres.SetHidden"
	if err := checkPersonal(op, userID, caseID, nil); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		if err := lockCase(ctx, tx, op, caseID); err != nil {
			return err
		}
		var err error
		if hidden {
			_, err = tx.Exec(ctx, `INSERT INTO case_hidden (user_id, case_id, hidden_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, userID, caseID, nanos(at))
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM case_hidden WHERE user_id = $1 AND case_id = $2`, userID, caseID)
		}
		if err != nil {
			return err
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
	const op = "postgres.IsHidden"
	if err := checkPersonal(op, userID, caseID, nil); err != nil {
		if errors.Is(err, kerr.NotFound) {
			return false, nil
		}
		return false, err
	}
	if err := s.live(ctx, op); err != nil {
		return false, err
	}
	var hidden bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM case_hidden WHERE user_id = $1 AND case_id = $2)`, userID, caseID).Scan(&hidden)
	if err != nil {
		return false, dbErr(ctx, op, err)
	}
	return hidden, nil
}

// PutComment implements storage.PersonalStore.
func (s *Store) PutComment(ctx context.Context, c *storage.Comment, audit []storage.AuditEntry) error {
	const op = "postgres.PutComment"
	if c == nil {
		return kerr.E(kerr.Invalid, op, "no comment given")
	}
	if err := checkPersonal(op, c.UserID, c.CaseID, &c.Text); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		if err := lockCase(ctx, tx, op, c.CaseID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO case_comments (user_id, case_id, updated_at, text) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, case_id) DO UPDATE SET updated_at = excluded.updated_at, text = excluded.text`,
			c.UserID, c.CaseID, nanos(c.UpdatedAt), c.Text); err != nil {
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

// GetComment implements storage.PersonalStore.
func (s *Store) GetComment(ctx context.Context, userID, caseID string) (*storage.Comment, error) {
	const op = "postgres.GetComment"
	notFound := kerr.E(kerr.NotFound, op, "user %q has no comment on case %q", userID, caseID)
	if err := checkPersonal(op, userID, caseID, nil); err != nil {
		if errors.Is(err, kerr.NotFound) {
			return nil, notFound
		}
		return nil, err
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	c := &storage.Comment{UserID: userID, CaseID: caseID}
	var at int64
	err := s.pool.QueryRow(ctx, `SELECT updated_at, text FROM case_comments WHERE user_id = $1 AND case_id = $2`, userID, caseID).Scan(&at, &c.Text)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	if at != 0 {
		c.UpdatedAt = time.Unix(0, at).UTC()
	}
	return c, nil
}

// DeleteComment implements storage.PersonalStore.
func (s *Store) DeleteComment(ctx context.Context, userID, caseID string, audit []storage.AuditEntry) error {
	const op = "postgres.DeleteComment"
	if err := checkPersonal(op, userID, caseID, nil); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM case_comments WHERE user_id = $1 AND case_id = $2`, userID, caseID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
// with case IDs in idCol, adding parameters through p. Excluding is an
// anti-join on case_hidden's primary key (user_id, case_id); only-hidden
// joins the user's key range of it.
func hiddenFilter(q *storage.CaseQuery, from, idCol string, where []string, p func(any) string) (string, []string) {
	if q.HiddenFor == "" {
		return from, where
	}
	switch q.Hidden {
	case storage.HiddenExclude:
		where = append(where, `NOT EXISTS (SELECT 1 FROM case_hidden h WHERE h.user_id = `+p(q.HiddenFor)+` AND h.case_id = `+idCol+`)`)
	case storage.HiddenOnly:
		from += ` JOIN case_hidden h ON h.case_id = c.id`
		where = append(where, `h.user_id = `+p(q.HiddenFor))
	}
	return from, where
}
