package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// putVersioned creates (version 0) or updates (version = stored) the row
// id of table under the contract's version rules. cols and vals are the
// columns besides id and version. table and cols are our constants.
func putVersioned(ctx context.Context, tx pgx.Tx, op, what, table, id string, version int64, cols []string, vals []any) error {
	args := append([]any{id, version + 1}, vals...)
	if version == 0 {
		sql := `INSERT INTO ` + table + ` (id, version`
		values := `$1, $2`
		for i, c := range cols {
			sql += `, ` + c
			values += `, $` + strconv.Itoa(i+3)
		}
		tag, err := tx.Exec(ctx, sql+`) VALUES (`+values+`) ON CONFLICT (id) DO NOTHING`, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kerr.E(kerr.Conflict, op, "%s %q exists already", what, id)
		}
		return nil
	}
	sql := `UPDATE ` + table + ` SET version = $2`
	for i, c := range cols {
		sql += `, ` + c + ` = $` + strconv.Itoa(i+3)
	}
	sql += ` WHERE id = $1 AND version = $` + strconv.Itoa(len(args)+1)
	tag, err := tx.Exec(ctx, sql, append(args, version)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return versionError(ctx, tx, op, what, table, id, version)
	}
	return nil
}

// PutCompany implements storage.AccountStore.
func (s *Store) PutCompany(ctx context.Context, c *storage.Company, audit []storage.AuditEntry) error {
	const op = "postgres.PutCompany"
	if c == nil || c.ID == "" || c.Version < 0 {
		return kerr.E(kerr.Invalid, op, "a company needs an ID and a non-negative version")
	}
	row := *c
	row.Version = c.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		if err := putVersioned(ctx, tx, op, "company", "companies", row.ID, c.Version, []string{"body"}, []any{body}); err != nil {
			return err
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

// getBody reads (version, body) with query and decodes body into v.
func (s *Store) getBody(ctx context.Context, op, what, query, key string, v any) (int64, error) {
	if err := s.live(ctx, op); err != nil {
		return 0, err
	}
	if !storable(key) {
		return 0, kerr.E(kerr.NotFound, op, "%s %q does not exist", what, key)
	}
	var version int64
	var body []byte
	err := s.pool.QueryRow(ctx, query, key).Scan(&version, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, kerr.E(kerr.NotFound, op, "%s %q does not exist", what, key)
	}
	if err != nil {
		return 0, dbErr(ctx, op, err)
	}
	return version, decode(op, body, v)
}

// GetCompany implements storage.AccountStore.
func (s *Store) GetCompany(ctx context.Context, id string) (*storage.Company, error) {
	var c storage.Company
	v, err := s.getBody(ctx, "postgres.GetCompany", "company", `SELECT version, body FROM companies WHERE id = $1`, id, &c)
	if err != nil {
		return nil, err
	}
	c.Version = v
	return &c, nil
}

// PutUser implements storage.AccountStore. The database enforces both
// rules: the unique index on login_id (kerr.Conflict) and the foreign key
// to companies (kerr.FailedPrecondition), so they hold under concurrency.
func (s *Store) PutUser(ctx context.Context, u *storage.User, audit []storage.AuditEntry) error {
	const op = "postgres.PutUser"
	if u == nil || u.ID == "" || u.LoginID == "" || u.Version < 0 {
		return kerr.E(kerr.Invalid, op, "a user needs an ID, a login ID and a non-negative version")
	}
	row := *u
	row.Version = u.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
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
func putUserTx(ctx context.Context, tx pgx.Tx, op string, row *storage.User, body []byte, version int64) error {
	err := putVersioned(ctx, tx, op, "user", "users", row.ID, version,
		[]string{"company_id", "login_id", "body"}, []any{row.CompanyID, row.LoginID, body})
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.ConstraintName {
		case "users_login_id_key", "login_names_pkey": // login_names: disclosure.go
			return kerr.WrapKind(kerr.Conflict, op, "login ID "+quote(row.LoginID)+" is taken; choose another", err)
		case "users_company_fkey":
			return kerr.WrapKind(kerr.FailedPrecondition, op, "company "+quote(row.CompanyID)+" does not exist; create it first", err)
		}
	}
	if err != nil {
		return err
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }

// GetUser implements storage.AccountStore.
func (s *Store) GetUser(ctx context.Context, id string) (*storage.User, error) {
	var u storage.User
	v, err := s.getBody(ctx, "postgres.GetUser", "user", `SELECT version, body FROM users WHERE id = $1`, id, &u)
	if err != nil {
		return nil, err
	}
	u.Version = v
	return &u, nil
}

// GetUserByLogin implements storage.AccountStore. Text equality in
// PostgreSQL is byte-wise under every deterministic collation, so login IDs
// compare exactly.
func (s *Store) GetUserByLogin(ctx context.Context, loginID string) (*storage.User, error) {
	var u storage.User
	v, err := s.getBody(ctx, "postgres.GetUserByLogin", "login ID", `SELECT version, body FROM users WHERE login_id = $1`, loginID, &u)
	if err != nil {
		return nil, err
	}
	u.Version = v
	return &u, nil
}

// ListUsers implements storage.AccountStore.
func (s *Store) ListUsers(ctx context.Context, companyID string) ([]*storage.User, error) {
	const op = "postgres.ListUsers"
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	if !storable(companyID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT version, body FROM users WHERE company_id = $1 ORDER BY id`, companyID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []*storage.User
	for rows.Next() {
		var v int64
		var body []byte
		if err := rows.Scan(&v, &body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var u storage.User
		if err := decode(op, body, &u); err != nil {
			return nil, err
		}
		u.Version = v
		out = append(out, &u)
	}
	return out, dbErr(ctx, op, rows.Err())
}

// PutSession implements storage.AccountStore.
func (s *Store) PutSession(ctx context.Context, ss *storage.Session, audit []storage.AuditEntry) error {
	const op = "postgres.PutSession"
	if ss == nil || ss.TokenHash == "" || ss.UserID == "" {
		return kerr.E(kerr.Invalid, op, "a session needs a token hash and a user")
	}
	body, err := encode(op, ss)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, expires_at, body) VALUES ($1, $2, $3, $4)
			ON CONFLICT (token_hash) DO NOTHING`, ss.TokenHash, ss.UserID, nanos(ss.ExpiresAt), body)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kerr.E(kerr.Conflict, op, "session exists already")
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
	const op = "postgres.GetSession"
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	notFound := kerr.E(kerr.NotFound, op, "no such session; log in again")
	if !storable(tokenHash) {
		return nil, notFound
	}
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM sessions WHERE token_hash = $1`, tokenHash).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	var ss storage.Session
	if err := decode(op, body, &ss); err != nil {
		return nil, err
	}
	return &ss, nil
}

// DeleteSession implements storage.AccountStore.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string, audit []storage.AuditEntry) error {
	const op = "postgres.DeleteSession"
	if !storable(tokenHash) {
		return kerr.E(kerr.NotFound, op, "no such session")
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	const op = "postgres.DeleteSessionsBefore"
	var n int64
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, nanos(t))
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}
