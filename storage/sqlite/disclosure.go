package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.DisclosureStore = (*Store)(nil)

// PutDisclosure implements storage.DisclosureStore.
func (s *Store) PutDisclosure(ctx context.Context, w *storage.DisclosureWrite) error {
	const op = "sqlite.PutDisclosure"
	if err := storage.CheckDisclosureWrite(op, w); err != nil {
		return err
	}
	d := w.Disclosure
	row := *d
	row.Version = d.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	revoked := 0
	if !row.RevokedAt.IsZero() {
		revoked = 1
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		exists, err := checkVersion(ctx, tx, op, "disclosures", "disclosure account", row.ID, d.Version)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, row.OwnerUserID).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n == 0 {
			return kerr.E(kerr.FailedPrecondition, op, "owner %q is not a user", row.OwnerUserID)
		}
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users WHERE login_id = ?) + (SELECT count(*) FROM disclosures WHERE login_id = ? AND id <> ?)`,
			row.LoginID, row.LoginID, row.ID).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n > 0 {
			return kerr.E(kerr.Conflict, op, "login ID %q is taken; choose another", row.LoginID)
		}
		if !exists && w.MaxPerOwner > 0 {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM disclosures WHERE owner_user = ? AND revoked = 0`, row.OwnerUserID).Scan(&n); err != nil {
				return dbErr(op, err)
			}
			if n >= w.MaxPerOwner {
				return kerr.E(kerr.FailedPrecondition, op, "user %q has %d disclosure accounts already, the most allowed; revoke one first", row.OwnerUserID, n)
			}
		}
		if exists {
			_, err = tx.ExecContext(ctx, `UPDATE disclosures SET version=?, owner_user=?, login_id=?, revoked=?, body=? WHERE id=?`,
				row.Version, row.OwnerUserID, row.LoginID, revoked, body, row.ID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO disclosures (id, version, owner_user, login_id, revoked, created_at, body) VALUES (?,?,?,?,?,?,?)`,
				row.ID, row.Version, row.OwnerUserID, row.LoginID, revoked, nanos(row.CreatedAt), body)
		}
		if err != nil {
			return dbErr(op, err)
		}
		if w.Cases != nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM disclosure_cases WHERE disclosure_id = ?`, row.ID); err != nil {
				return dbErr(op, err)
			}
			for _, c := range w.Cases {
				if err := caseExists(ctx, tx, op, c); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO disclosure_cases (disclosure_id, case_id) VALUES (?, ?)`, row.ID, c); err != nil {
					return dbErr(op, err)
				}
			}
		}
		if w.EndSessions {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, row.ID, w.KeepSession); err != nil {
				return dbErr(op, err)
			}
		}
		sealed, err = appendAudit(ctx, tx, op, w.Audit)
		return err
	})
	if err != nil {
		return err
	}
	d.Version = row.Version
	copy(w.Audit, sealed)
	return nil
}

// GetDisclosure implements storage.DisclosureStore.
func (s *Store) GetDisclosure(ctx context.Context, id string) (*storage.Disclosure, error) {
	var d storage.Disclosure
	v, err := s.getBody(ctx, "sqlite.GetDisclosure", "disclosure account", `SELECT version, body FROM disclosures WHERE id = ?`, id, &d)
	if err != nil {
		return nil, err
	}
	d.Version = v
	return &d, nil
}

// GetDisclosureByLogin implements storage.DisclosureStore.
func (s *Store) GetDisclosureByLogin(ctx context.Context, loginID string) (*storage.Disclosure, error) {
	var d storage.Disclosure
	v, err := s.getBody(ctx, "sqlite.GetDisclosureByLogin", "login ID", `SELECT version, body FROM disclosures WHERE login_id = ?`, loginID, &d)
	if err != nil {
		return nil, err
	}
	d.Version = v
	return &d, nil
}

// ListDisclosures implements storage.DisclosureStore.
func (s *Store) ListDisclosures(ctx context.Context, ownerUserID string) ([]*storage.Disclosure, error) {
	const op = "sqlite.ListDisclosures"
	rows, err := s.r.QueryContext(ctx, `SELECT version, body FROM disclosures WHERE owner_user = ? ORDER BY created_at, id`, ownerUserID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*storage.Disclosure
	for rows.Next() {
		var v int64
		var body string
		if err := rows.Scan(&v, &body); err != nil {
			return nil, dbErr(op, err)
		}
		var d storage.Disclosure
		if err := decode(op, body, &d); err != nil {
			return nil, err
		}
		d.Version = v
		out = append(out, &d)
	}
	return out, dbErr(op, rows.Err())
}

// DisclosureCases implements storage.DisclosureStore.
func (s *Store) DisclosureCases(ctx context.Context, id string) ([]string, error) {
	const op = "sqlite.DisclosureCases"
	rows, err := s.r.QueryContext(ctx, `SELECT case_id FROM disclosure_cases WHERE disclosure_id = ? ORDER BY case_id`, id)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, c)
	}
	return out, dbErr(op, rows.Err())
}

// Discloses implements storage.DisclosureStore.
func (s *Store) Discloses(ctx context.Context, id, caseID string) (bool, error) {
	var one int
	err := s.readRow(ctx, `SELECT 1 FROM disclosure_cases WHERE disclosure_id = ? AND case_id = ?`, id, caseID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, dbErr("sqlite.Discloses", err)
}

// ListDisclosureAccess implements storage.DisclosureStore.
func (s *Store) ListDisclosureAccess(ctx context.Context, id string, afterSeq int64, limit int) ([]storage.AuditEntry, error) {
	const op = "sqlite.ListDisclosureAccess"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	// The LIKE term is the partial index's own, so the index serves it.
	rows, err := s.r.QueryContext(ctx, `SELECT seq, at, actor_user, actor_company, remote_addr, action, case_id, detail, prev_hash, hash, key_id
		FROM audit WHERE actor_user = ? AND action LIKE 'disclosure.%' AND seq > ? ORDER BY seq LIMIT ?`, id, afterSeq, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []storage.AuditEntry
	for rows.Next() {
		var e storage.AuditEntry
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.ActorUserID, &e.ActorCompanyID, &e.RemoteAddr, &e.Action, &e.CaseID, &e.Detail, &e.PrevHash, &e.Hash, &e.KeyID); err != nil {
			return nil, dbErr(op, err)
		}
		e.Time = time.Unix(0, at).UTC()
		if len(e.PrevHash) == 0 {
			e.PrevHash = nil
		}
		out = append(out, e)
	}
	return out, dbErr(op, rows.Err())
}

// disclosureFilter keeps only the cases disclosure account q.DisclosureID
// shows: its key range of disclosure_cases drives the query (CROSS JOIN
// keeps SQLite from reordering it), at most storage.MaxDisclosureCases
// rows, sorted after.
func disclosureFilter(q *storage.CaseQuery, from string, where []string, args []any) (string, []string, []any) {
	if q.DisclosureID == "" {
		return from, where, args
	}
	from = `disclosure_cases dc CROSS JOIN ` + from + ` ON c.id = dc.case_id`
	where = append([]string{`dc.disclosure_id = ?`}, where...)
	args = append([]any{q.DisclosureID}, args...)
	return from, where, args
}
