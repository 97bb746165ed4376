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

var _ storage.DisclosureStore = (*Store)(nil)

// PutDisclosure implements storage.DisclosureStore. The owner's users row
// is locked for the write, so that concurrent creations for one owner
// count each other against MaxPerOwner; login IDs are kept unique across
// users and disclosure accounts by the login_names table (migration
// 00010).
func (s *Store) PutDisclosure(ctx context.Context, w *storage.DisclosureWrite) error {
	const op = "postgres.PutDisclosure"
	if err := storage.CheckDisclosureWrite(op, w); err != nil {
		return err
	}
	d := w.Disclosure
	for _, v := range append([]string{d.ID, d.OwnerUserID, d.CompanyID, d.LoginID, d.Label, w.KeepSession}, append(d.AllowList, w.Cases...)...) {
		if err := checkText(op, "disclosure account fields", v); err != nil {
			return err
		}
	}
	row := *d
	row.Version = d.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, row.OwnerUserID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return kerr.E(kerr.FailedPrecondition, op, "owner %q is not a user", row.OwnerUserID)
		}
		if err != nil {
			return err
		}
		if d.Version == 0 && w.MaxPerOwner > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM disclosures WHERE owner_user = $1 AND NOT revoked`, row.OwnerUserID).Scan(&n); err != nil {
				return err
			}
			if n >= w.MaxPerOwner {
				return kerr.E(kerr.FailedPrecondition, op, "user %q has %d disclosure accounts already, the most allowed; revoke one first", row.OwnerUserID, n)
			}
		}
		err = putVersioned(ctx, tx, op, "disclosure account", "disclosures", row.ID, d.Version,
			[]string{"owner_user", "login_id", "revoked", "created_at", "body"},
			[]any{row.OwnerUserID, row.LoginID, !row.RevokedAt.IsZero(), nanos(row.CreatedAt), body})
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return kerr.WrapKind(kerr.Conflict, op, "login ID "+quote(row.LoginID)+" is taken; choose another", err)
		}
		if err != nil {
			return err
		}
		if w.Cases != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM disclosure_cases WHERE disclosure_id = $1`, row.ID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO disclosure_cases (disclosure_id, case_id) SELECT $1, unnest($2::text[])`, row.ID, w.Cases)
			if errors.As(err, &pe) && pe.Code == "23503" {
				return kerr.WrapKind(kerr.NotFound, op, "a disclosed case does not exist", err)
			}
			if err != nil {
				return err
			}
		}
		if w.EndSessions {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, row.ID, w.KeepSession); err != nil {
				return err
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
	v, err := s.getBody(ctx, "postgres.GetDisclosure", "disclosure account", `SELECT version, body FROM disclosures WHERE id = $1`, id, &d)
	if err != nil {
		return nil, err
	}
	d.Version = v
	return &d, nil
}

// GetDisclosureByLogin implements storage.DisclosureStore.
func (s *Store) GetDisclosureByLogin(ctx context.Context, loginID string) (*storage.Disclosure, error) {
	var d storage.Disclosure
	v, err := s.getBody(ctx, "postgres.GetDisclosureByLogin", "login ID", `SELECT version, body FROM disclosures WHERE login_id = $1`, loginID, &d)
	if err != nil {
		return nil, err
	}
	d.Version = v
	return &d, nil
}

// ListDisclosures implements storage.DisclosureStore.
func (s *Store) ListDisclosures(ctx context.Context, ownerUserID string) ([]*storage.Disclosure, error) {
	const op = "postgres.ListDisclosures"
	if !storable(ownerUserID) {
		return nil, nil
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT version, body FROM disclosures WHERE owner_user = $1 ORDER BY created_at, id`, ownerUserID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []*storage.Disclosure
	for rows.Next() {
		var v int64
		var body []byte
		if err := rows.Scan(&v, &body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var d storage.Disclosure
		if err := decode(op, body, &d); err != nil {
			return nil, err
		}
		d.Version = v
		out = append(out, &d)
	}
	return out, dbErr(ctx, op, rows.Err())
}

// DisclosureCases implements storage.DisclosureStore.
func (s *Store) DisclosureCases(ctx context.Context, id string) ([]string, error) {
	const op = "postgres.DisclosureCases"
	if !storable(id) {
		return nil, nil
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT case_id FROM disclosure_cases WHERE disclosure_id = $1 ORDER BY case_id`, id)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		out = append(out, c)
	}
	return out, dbErr(ctx, op, rows.Err())
}

// Discloses implements storage.DisclosureStore.
func (s *Store) Discloses(ctx context.Context, id, caseID string) (bool, error) {
	const op = "postgres.Discloses"
	if !storable(id) || !storable(caseID) {
		return false, nil
	}
	if err := s.live(ctx, op); err != nil {
		return false, err
	}
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM disclosure_cases WHERE disclosure_id = $1 AND case_id = $2`, id, caseID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, dbErr(ctx, op, err)
}

// ListDisclosureAccess implements storage.DisclosureStore.
func (s *Store) ListDisclosureAccess(ctx context.Context, id string, afterSeq int64, limit int) ([]storage.AuditEntry, error) {
	const op = "postgres.ListDisclosureAccess"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	if !storable(id) {
		return nil, nil
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	// The LIKE term is the partial index's own, so the index serves it.
	rows, err := s.pool.Query(ctx, `SELECT seq, at, actor_user, actor_company, remote_addr, action, case_id, detail, prev_hash, hash, key_id
		FROM audit WHERE actor_user = $1 AND action LIKE 'disclosure.%' AND seq > $2 ORDER BY seq LIMIT $3`, id, afterSeq, limit)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []storage.AuditEntry
	for rows.Next() {
		var e storage.AuditEntry
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.ActorUserID, &e.ActorCompanyID, &e.RemoteAddr, &e.Action, &e.CaseID, &e.Detail, &e.PrevHash, &e.Hash, &e.KeyID); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		e.Time = time.Unix(0, at).UTC()
		if len(e.PrevHash) == 0 {
			e.PrevHash = nil
		}
		out = append(out, e)
	}
	return out, dbErr(ctx, op, rows.Err())
}

// disclosureFilter keeps only the cases disclosure account q.DisclosureID
// shows: a semi-join on disclosure_cases' primary key (disclosure_id,
// case_id), at most storage.MaxDisclosureCases rows.
func disclosureFilter(q *storage.CaseQuery, idCol string, where []string, p func(any) string) []string {
	if q.DisclosureID == "" {
		return where
	}
	return append(where, `EXISTS (SELECT 1 FROM disclosure_cases dc WHERE dc.disclosure_id = `+p(q.DisclosureID)+` AND dc.case_id = `+idCol+`)`)
}
