package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// checkVersion applies the create/update version rules in tx for a row of
// table with the given id. It returns whether the row exists.
func checkVersion(ctx context.Context, tx *wtx, op, table, what, id string, version int64) (bool, error) {
	if id == "" || version < 0 {
		return false, kerr.E(kerr.Invalid, op, "a %s needs an ID and a non-negative version", what)
	}
	var stored int64
	// table is one of our constant names, never user input.
	err := tx.QueryRowContext(ctx, `SELECT version FROM `+table+` WHERE id = ?`, id).Scan(&stored)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, dbErr(op, err)
	}
	switch {
	case version == 0 && exists:
		return false, kerr.E(kerr.Conflict, op, "%s %q exists already", what, id)
	case version > 0 && !exists:
		return false, kerr.E(kerr.NotFound, op, "%s %q does not exist", what, id)
	case version > 0 && stored != version:
		return false, kerr.E(kerr.Conflict, op, "%s %q is at version %d, not %d: reload it and try again", what, id, stored, version)
	}
	return exists, nil
}

// PutCompany implements storage.AccountStore.
func (s *Store) PutCompany(ctx context.Context, c *storage.Company, audit []storage.AuditEntry) error {
	const op = "sqlite.PutCompany"
	if c == nil {
		return kerr.E(kerr.Invalid, op, "nil company")
	}
	row := *c
	row.Version = c.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		exists, err := checkVersion(ctx, tx, op, "companies", "company", row.ID, c.Version)
		if err != nil {
			return err
		}
		if exists {
			_, err = tx.ExecContext(ctx, `UPDATE companies SET version=?, body=? WHERE id=?`, row.Version, body, row.ID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO companies (version, body, id) VALUES (?,?,?)`, row.Version, body, row.ID)
		}
		if err != nil {
			return dbErr(op, err)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err != nil {
		return err
	}
	c.Version = row.Version
	copy(audit, sealed)
	return nil
}

func (s *Store) getBody(ctx context.Context, op, what, query string, arg any, v any) (int64, error) {
	var version int64
	var body string
	err := s.readRow(ctx, query, arg).Scan(&version, &body) // query is one of a fixed few
	if errors.Is(err, sql.ErrNoRows) {
		return 0, kerr.E(kerr.NotFound, op, "%s %q does not exist", what, arg)
	}
	if err != nil {
		return 0, dbErr(op, err)
	}
	return version, decode(op, body, v)
}

// GetCompany implements storage.AccountStore.
func (s *Store) GetCompany(ctx context.Context, id string) (*storage.Company, error) {
	var c storage.Company
	v, err := s.getBody(ctx, "sqlite.GetCompany", "company", `SELECT version, body FROM companies WHERE id = ?`, id, &c)
	if err != nil {
		return nil, err
	}
	c.Version = v
	return &c, nil
}

// PutUser implements storage.AccountStore.
func (s *Store) PutUser(ctx context.Context, u *storage.User, audit []storage.AuditEntry) error {
	const op = "sqlite.PutUser"
	if u == nil || u.LoginID == "" {
		return kerr.E(kerr.Invalid, op, "a user needs a login ID")
	}
	row := *u
	row.Version = u.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		if err := putUserTx(ctx, tx, op, &row, body, u.Version); err != nil {
			return err
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err != nil {
		return err
	}
	u.Version = row.Version
	copy(audit, sealed)
	return nil
}

// putUserTx writes row (already at its new version, encoded as body) in
// tx under PutUser's rules; version is the version the caller read.
func putUserTx(ctx context.Context, tx *wtx, op string, row *storage.User, body string, version int64) error {
	exists, err := checkVersion(ctx, tx, op, "users", "user", row.ID, version)
	if err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM companies WHERE id = ?`, row.CompanyID).Scan(&n); err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return kerr.E(kerr.FailedPrecondition, op, "company %q does not exist; create it first", row.CompanyID)
	}
	// Disclosure accounts hold login IDs too (disclosure.go).
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users WHERE login_id = ? AND id <> ?) + (SELECT count(*) FROM disclosures WHERE login_id = ?)`, row.LoginID, row.ID, row.LoginID).Scan(&n); err != nil {
		return dbErr(op, err)
	}
	if n > 0 {
		return kerr.E(kerr.Conflict, op, "login ID %q is taken; choose another", row.LoginID)
	}
	if exists {
		_, err = tx.ExecContext(ctx, `UPDATE users SET version=?, company_id=?, login_id=?, body=? WHERE id=?`, row.Version, row.CompanyID, row.LoginID, body, row.ID)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO users (version, company_id, login_id, body, id) VALUES (?,?,?,?,?)`, row.Version, row.CompanyID, row.LoginID, body, row.ID)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return nil
}

// GetUser implements storage.AccountStore.
func (s *Store) GetUser(ctx context.Context, id string) (*storage.User, error) {
	var u storage.User
	v, err := s.getBody(ctx, "sqlite.GetUser", "user", `SELECT version, body FROM users WHERE id = ?`, id, &u)
	if err != nil {
		return nil, err
	}
	u.Version = v
	return &u, nil
}

// GetUserByLogin implements storage.AccountStore.
func (s *Store) GetUserByLogin(ctx context.Context, loginID string) (*storage.User, error) {
	var u storage.User
	v, err := s.getBody(ctx, "sqlite.GetUserByLogin", "login ID", `SELECT version, body FROM users WHERE login_id = ?`, loginID, &u)
	if err != nil {
		return nil, err
	}
	u.Version = v
	return &u, nil
}

// ListUsers implements storage.AccountStore.
func (s *Store) ListUsers(ctx context.Context, companyID string) ([]*storage.User, error) {
	const op = "sqlite.ListUsers"
	rows, err := s.r.QueryContext(ctx, `SELECT version, body FROM users WHERE company_id = ? ORDER BY id`, companyID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*storage.User
	for rows.Next() {
		var v int64
		var body string
		if err := rows.Scan(&v, &body); err != nil {
			return nil, dbErr(op, err)
		}
		var u storage.User
		if err := decode(op, body, &u); err != nil {
			return nil, err
		}
		u.Version = v
		out = append(out, &u)
	}
	return out, dbErr(op, rows.Err())
}

// PutSession implements storage.AccountStore.
func (s *Store) PutSession(ctx context.Context, ss *storage.Session, audit []storage.AuditEntry) error {
	const op = "sqlite.PutSession"
	if ss == nil || ss.TokenHash == "" || ss.UserID == "" {
		return kerr.E(kerr.Invalid, op, "a session needs a token hash and a user")
	}
	body, err := encode(op, ss)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE token_hash = ?`, ss.TokenHash).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n > 0 {
			return kerr.E(kerr.Conflict, op, "session exists already")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, expires_at, body) VALUES (?,?,?,?)`,
			ss.TokenHash, ss.UserID, nanos(ss.ExpiresAt), body); err != nil {
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

// GetSession implements storage.AccountStore.
func (s *Store) GetSession(ctx context.Context, tokenHash string) (*storage.Session, error) {
	const op = "sqlite.GetSession"
	var body string
	err := s.readRow(ctx, `SELECT body FROM sessions WHERE token_hash = ?`, tokenHash).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "no such session; log in again")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	var ss storage.Session
	return &ss, decode(op, body, &ss)
}

// DeleteSession implements storage.AccountStore.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string, audit []storage.AuditEntry) error {
	const op = "sqlite.DeleteSession"
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		if err != nil {
			return dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return kerr.E(kerr.NotFound, op, "no such session")
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// DeleteSessionsBefore implements storage.AccountStore.
func (s *Store) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	const op = "sqlite.DeleteSessionsBefore"
	var n int64
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, nanos(t))
		if err != nil {
			return dbErr(op, err)
		}
		n, err = res.RowsAffected()
		return dbErr(op, err)
	})
	return int(n), err
}
