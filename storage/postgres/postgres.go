package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultSchema is the schema used when Config.Schema is empty.
const DefaultSchema = "keiyaku"

// MaxAuditBatch bounds the entries one write appends to the audit log.
const MaxAuditBatch = 10000

// commitTimeout bounds a COMMIT. A commit is sent without the caller's
// cancellation so that its outcome is known: a COMMIT abandoned half-way
// would leave the caller not knowing whether the change was stored.
const commitTimeout = 30 * time.Second

// Config configures Open.
type Config struct {
	// DSN is the PostgreSQL connection string, as a URL
	// (postgres://user@host:5432/db?sslmode=verify-full) or in key=value
	// form; see pgxpool.ParseConfig. Required. A search_path given in it is
	// replaced by Schema.
	DSN string
	// Schema holds keiyaku's tables; Open creates it if it is missing.
	// Empty means DefaultSchema. It must be a plain lower-case identifier:
	// a letter or '_', then letters, digits or '_', at most 63 bytes.
	Schema string
	// MaxConns bounds the connection pool. Zero means pgxpool's default,
	// the larger of 4 and the number of CPUs.
	MaxConns int
	// Logger receives the migration log. Nil discards it.
	Logger *slog.Logger
	// AuditKey keys the audit chain (see storage.AuditKey); nil seals
	// entries with plain SHA-256.
	AuditKey *storage.AuditKey
}

// Store is a storage.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	schema   string
	closed   atomic.Bool
	auditKey *storage.AuditKey
}

var (
	_ storage.Store      = (*Store)(nil)
	_ storage.BulkLoader = (*Store)(nil)
)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// validSchema reports whether name may be used as Config.Schema: a name
// that needs no quoting, so that it reads the same in search_path, in
// goose's table name and in an operator's psql session.
func validSchema(name string) bool {
	return schemaName.MatchString(name) && !isReserved(name)
}

// isReserved reports the names PostgreSQL keeps for itself.
func isReserved(name string) bool {
	return name == "pg_catalog" || name == "information_schema" || len(name) >= 3 && name[:3] == "pg_"
}

// Open connects to the database, creates the schema if it is missing and
// brings it up to date. The returned Store owns a connection pool; Close
// releases it. An invalid Config is kerr.Invalid; a database that cannot be
// reached is kerr.Unavailable.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	const op = "postgres.Open"
	if cfg.DSN == "" {
		return nil, kerr.E(kerr.Invalid, op, "Config.DSN is required")
	}
	if cfg.Schema == "" {
		cfg.Schema = DefaultSchema
	}
	if !validSchema(cfg.Schema) {
		return nil, kerr.E(kerr.Invalid, op, "Config.Schema %q must be a lower-case identifier (a-z, 0-9, _; not starting with a digit or pg_; at most 63 bytes)", cfg.Schema)
	}
	if err := cfg.AuditKey.Check(op); err != nil {
		return nil, err
	}
	if cfg.MaxConns < 0 || cfg.MaxConns > math.MaxInt32 {
		return nil, kerr.E(kerr.Invalid, op, "Config.MaxConns %d out of range", cfg.MaxConns)
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgconn's parse error redacts the password.
		return nil, kerr.WrapKind(kerr.Invalid, op, "Config.DSN is not a valid connection string", err)
	}
	if pcfg.ConnConfig.RuntimeParams == nil {
		pcfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	pcfg.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = int32(cfg.MaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "cannot configure the connection pool", err)
	}
	s := &Store{pool: pool, schema: cfg.Schema, auditKey: cfg.AuditKey}
	if err := s.migrate(ctx, cfg); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context, cfg Config) error {
	const op = "postgres.Open"
	if err := s.pool.Ping(ctx); err != nil {
		return kerr.WrapKind(kerr.Unavailable, op, "cannot reach the database", err)
	}
	// CREATE SCHEMA needs the CREATE privilege on the database even with
	// IF NOT EXISTS, so look first: a deployment may create the schema
	// once and run keiyaku with a role that owns only that schema.
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, cfg.Schema).Scan(&exists); err != nil {
		return dbErr(ctx, op, err)
	}
	if !exists {
		// The name was checked against validSchema; Sanitize quotes it anyway.
		_, err := s.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{cfg.Schema}.Sanitize())
		var pe *pgconn.PgError
		if err != nil && !(errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06")) { // lost a race with another Open
			return dbErr(ctx, op, err)
		}
	}
	// Every statement names its tables unqualified and relies on the
	// search_path sent when each connection starts. A connection pooler
	// that drops start-up parameters (PgBouncer in transaction mode) would
	// silently send them to another schema: refuse to start instead.
	var current *string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
		return dbErr(ctx, op, err)
	}
	if current == nil || *current != cfg.Schema {
		return kerr.E(kerr.FailedPrecondition, op, "connections do not use schema %q (search_path gives %v): the search_path start-up parameter was not applied; if a connection pooler sits in between, set search_path for the role or the pool instead", cfg.Schema, current)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return kerr.Wrap(op, err)
	}
	// One advisory lock per schema: concurrent Opens of one schema migrate
	// one after the other, Opens of different schemas do not wait.
	h := fnv.New64a()
	h.Write([]byte("keiyaku/migrate/" + cfg.Schema))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64() >> 1)))
	if err != nil {
		return kerr.Wrap(op, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db := stdlib.OpenDBFromPool(s.pool) // closing db leaves the pool open
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(cfg.Schema+".goose_db_version"),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger))
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if _, err := p.Up(ctx); err != nil {
		if ctx.Err() != nil {
			return dbErr(ctx, op, err)
		}
		return kerr.WrapKind(kerr.Internal, op, "migrating schema "+cfg.Schema, err)
	}
	return nil
}

// Schema returns the schema the store uses.
func (s *Store) Schema() string { return s.schema }

// Close closes the connection pool, waiting for connections in use to be
// returned. Calls after Close fail with kerr.FailedPrecondition.
func (s *Store) Close() error {
	if !s.closed.Swap(true) {
		s.pool.Close()
	}
	return nil
}

// live checks that the store is open and ctx is not done.
func (s *Store) live(ctx context.Context, op string) error {
	if s.closed.Load() {
		return kerr.E(kerr.FailedPrecondition, op, "the store is closed")
	}
	if err := ctx.Err(); err != nil {
		return kerr.WrapKind(kerr.Unavailable, op, "", err)
	}
	return nil
}

// write runs fn in one READ COMMITTED transaction and commits only if fn
// succeeded and ctx is still live.
func (s *Store) write(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	if err := s.live(ctx, op); err != nil {
		return err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return dbErr(ctx, op, err)
	}
	defer func() {
		// A no-op after a successful commit. Without the caller's
		// cancellation, so that a cancelled call still ends its
		// transaction cleanly and the connection goes back to the pool.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if err := fn(auditTx{tx, s.auditKey}); err != nil {
		return dbErr(ctx, op, err)
	}
	if err := ctx.Err(); err != nil {
		return dbErr(ctx, op, err)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := tx.Commit(cctx); err != nil {
		return dbErr(ctx, op, err)
	}
	return nil
}

// dbErr classifies a database error. Errors that already carry a kind (our
// own checks) pass through unchanged.
func dbErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return kerr.WrapKind(kerr.Unavailable, op, "", err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch class := pe.Code[:min(2, len(pe.Code))]; {
		case pe.Code == "23505": // unique_violation
			return kerr.WrapKind(kerr.Conflict, op, "a record with this key exists already", err)
		case pe.Code == "23503": // foreign_key_violation
			return kerr.WrapKind(kerr.FailedPrecondition, op, "a record it refers to does not exist", err)
		case class == "22": // data exception: NUL bytes, invalid UTF-8, out of range
			return kerr.WrapKind(kerr.Invalid, op, "a value cannot be stored in PostgreSQL (text may not hold NUL bytes or invalid UTF-8)", err)
		case class == "40", class == "53", class == "57", class == "08", pe.Code == "55P03":
			// Serialization failure, deadlock, lack of resources, shutdown,
			// connection trouble, lock timeout: transient.
			return kerr.WrapKind(kerr.Unavailable, op, "the database is busy or unreachable; retry", err)
		}
		return kerr.WrapKind(kerr.Internal, op, "", err)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return kerr.WrapKind(kerr.Unavailable, op, "the database is unreachable; retry", err)
	}
	return kerr.WrapKind(kerr.Internal, op, "", err)
}

// nanos stores times as integers; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func encode(op string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "record cannot be encoded", err)
	}
	return b, nil
}

func decode(op string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return kerr.WrapKind(kerr.Internal, op, "stored record is not valid JSON", err)
	}
	return nil
}

// appendAudit appends sealed copies of entries in tx and returns them; the
// caller copies them back once the commit succeeded. It locks the chain
// head, so callers run it last, after their own row locks.
func appendAudit(ctx context.Context, tx pgx.Tx, op string, entries []storage.AuditEntry) ([]storage.AuditEntry, error) {
	if len(entries) == 0 {
		return nil, kerr.E(kerr.Invalid, op, "every write needs at least one audit entry")
	}
	if len(entries) > MaxAuditBatch {
		return nil, kerr.E(kerr.Invalid, op, "%d audit entries in one write, at most %d allowed", len(entries), MaxAuditBatch)
	}
	for i, e := range entries {
		if e.Time.IsZero() || e.Action == "" {
			return nil, kerr.E(kerr.Invalid, op, "audit entry %d needs a Time and an Action", i)
		}
	}
	var lastSeq int64
	var lastHash []byte
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE only_row FOR UPDATE`).Scan(&lastSeq, &lastHash); err != nil {
		return nil, dbErr(ctx, op, err)
	}
	sealed := append([]storage.AuditEntry(nil), entries...)
	var key *storage.AuditKey
	if at, ok := tx.(auditTx); ok {
		key = at.key
	}
	storage.SealAuditWith(key, lastSeq, lastHash, sealed)
	n := len(sealed)
	seq, at := make([]int64, n), make([]int64, n)
	user, company, addr, action, caseID, detail := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	prev, hash, keyID := make([][]byte, n), make([][]byte, n), make([]string, n)
	for i, e := range sealed {
		keyID[i] = e.KeyID
		seq[i], at[i] = e.Seq, e.Time.UnixNano()
		user[i], company[i], addr[i], action[i], caseID[i], detail[i] = e.ActorUserID, e.ActorCompanyID, e.RemoteAddr, e.Action, e.CaseID, e.Detail
		prev[i], hash[i] = nonNil(e.PrevHash), e.Hash
	}
	last := sealed[n-1]
	_, err := tx.Exec(ctx, `WITH ins AS (
			INSERT INTO audit (seq, at, actor_user, actor_company, remote_addr, action, case_id, detail, prev_hash, hash, key_id)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::bytea[], $13::text[]))
		UPDATE audit_head SET seq = $11, hash = $12 WHERE only_row`,
		seq, at, user, company, addr, action, caseID, detail, prev, hash, last.Seq, last.Hash, keyID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return sealed, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// AppendAudit implements storage.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, entries []storage.AuditEntry) error {
	const op = "postgres.AppendAudit"
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) (err error) {
		sealed, err = appendAudit(ctx, tx, op, entries)
		return err
	})
	if err == nil {
		copy(entries, sealed)
	}
	return err
}

// ListAudit implements storage.AuditStore.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, caseID string, limit int) ([]storage.AuditEntry, error) {
	const op = "postgres.ListAudit"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	if !storable(caseID) {
		return nil, nil // no stored entry can name it
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	q := `SELECT seq, at, actor_user, actor_company, remote_addr, action, case_id, detail, prev_hash, hash, key_id FROM audit WHERE seq > $1`
	args := []any{afterSeq, limit}
	if caseID != "" {
		// The redundant case_id <> '' lets a generic plan use the partial
		// index audit_case.
		q += ` AND case_id = $3 AND case_id <> ''`
		args = append(args, caseID)
	}
	q += ` ORDER BY seq LIMIT $2`
	rows, err := s.pool.Query(ctx, q, args...)
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
