package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/keiyaku/keiyaku/internal/failpoint"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures Open.
type Config struct {
	// Path is the database file; it is created if missing. Required. It
	// may not contain '?' or '#'.
	Path string
	// BusyTimeout is how long a connection waits for a lock held by
	// another process before failing with kerr.Unavailable. Zero means
	// 5 seconds.
	BusyTimeout time.Duration
	// MaxReaders is the size of the read-only connection pool. Zero means 4.
	MaxReaders int
	// AuditKey keys the audit chain (see storage.AuditKey); nil seals
	// entries with plain SHA-256.
	AuditKey *storage.AuditKey
}

// Store is a storage.Store on one SQLite database. It is safe for
// concurrent use.
type Store struct {
	w *sql.DB // the single writer connection
	r *sql.DB // read-only pool

	// Group commit (see write).
	gmu        sync.Mutex
	gcond      *sync.Cond // on gmu: a group committed
	committing bool       // a writer holds the connection
	pending    []*writeReq
	groups     atomic.Int64 // groups committed, for tests and benchmarks
	auditKey   *storage.AuditKey
	grouped    atomic.Int64 // writes in them

	stmts sync.Map // SQL text -> *sql.Stmt prepared on w
	queue sync.Map // SQL text met before it was prepared -> true
	rstmt sync.Map // SQL text -> *sql.Stmt prepared on r (fixed queries only)

	pins pinSet // retention.go
}

// rprepared returns the statement for a fixed query on the read pool,
// prepared once.
func (s *Store) rprepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.rstmt.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.rstmt.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// readRow runs a fixed single-row query on the read pool.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.rprepared(ctx, query)
	if err != nil {
		return s.r.QueryRowContext(ctx, query, args...) // reports the error
	}
	return st.QueryRowContext(ctx, args...)
}

// wtx is a write transaction whose statements are prepared once per Store
// and reused: preparing costs more than running the small statements of a
// commit.
type wtx struct {
	*sql.Tx
	s *Store
}

// stmt returns the cached statement for query, bound to the transaction,
// or nil the first time: the one writer connection is busy with this
// transaction, so the statement is prepared after it ends (prepareQueued).
func (t *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := t.s.stmts.Load(query); ok {
		// Bound without ctx: see write on cancellation.
		return t.Tx.StmtContext(context.WithoutCancel(ctx), st.(*sql.Stmt))
	}
	t.s.queue.Store(query, true)
	return nil
}

// prepareQueued prepares the statements first met in a transaction; it
// runs when the writer connection is free again.
func (s *Store) prepareQueued(ctx context.Context) {
	s.queue.Range(func(k, _ any) bool {
		query := k.(string)
		s.queue.Delete(query)
		if _, ok := s.stmts.Load(query); ok {
			return true
		}
		if st, err := s.w.PrepareContext(ctx, query); err == nil {
			if _, loaded := s.stmts.LoadOrStore(query, st); loaded {
				st.Close()
			}
		}
		return true
	})
}

// ExecContext runs query with a cached prepared statement.
func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs query with a cached prepared statement.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query with a cached prepared statement.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating if needed) the database at cfg.Path and brings its
// schema up to date.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	const op = "sqlite.Open"
	if cfg.Path == "" || strings.ContainsAny(cfg.Path, "?#") {
		return nil, kerr.E(kerr.Invalid, op, "Config.Path %q must name a file and may not contain '?' or '#'", cfg.Path)
	}
	if cfg.BusyTimeout == 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.BusyTimeout < 0 || cfg.MaxReaders < 0 {
		return nil, kerr.E(kerr.Invalid, op, "BusyTimeout and MaxReaders may not be negative")
	}
	if cfg.MaxReaders == 0 {
		cfg.MaxReaders = 4
	}
	if err := cfg.AuditKey.Check(op); err != nil {
		return nil, err
	}
	dsn := func(readOnly bool) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(FULL)")
		// A 64 MiB page cache per connection and memory-mapped reads keep
		// searches off the read syscall path.
		q.Add("_pragma", "cache_size(-65536)")
		q.Add("_pragma", "mmap_size(1073741824)")
		if readOnly {
			q.Add("_pragma", "query_only(1)")
		} else {
			q.Add("_pragma", "journal_mode(WAL)")
			q.Set("_txlock", "immediate")
		}
		return "file:" + cfg.Path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn(false))
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, kerr.WrapKind(kerr.Unavailable, op, "cannot open database "+cfg.Path, err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		w.Close()
		return nil, kerr.Wrap(op, err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, w, sub)
	if err != nil {
		w.Close()
		return nil, kerr.Wrap(op, err)
	}
	if _, err := p.Up(ctx); err != nil {
		w.Close()
		return nil, kerr.WrapKind(kerr.Internal, op, "migrating the schema", err)
	}
	// Let SQLite refresh planner statistics where they are stale (the
	// start-up form recommended by https://sqlite.org/lang_analyze.html).
	if _, err := w.ExecContext(ctx, `PRAGMA optimize = 0x10002`); err != nil {
		w.Close()
		return nil, dbErr(op, err)
	}
	r, err := sql.Open("sqlite", dsn(true))
	if err != nil {
		w.Close()
		return nil, kerr.Wrap(op, err)
	}
	r.SetMaxOpenConns(cfg.MaxReaders)
	st := &Store{w: w, r: r, auditKey: cfg.AuditKey}
	st.gcond = sync.NewCond(&st.gmu)
	return st, nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	return kerr.Wrap("sqlite.Close", errors.Join(s.r.Close(), s.w.Close()))
}

// write runs fn in a BEGIN IMMEDIATE transaction on the writer connection
// and commits only if fn succeeded and ctx is still live: either all of
// fn's writes are committed or none.
//
// Writes are committed in groups (group commit): a writer that finds
// another commit in progress queues its fn, and the next writer to take
// the connection runs every queued fn in its transaction, each inside its
// own SAVEPOINT, and commits them all with one WAL sync. A fn that fails,
// or whose ctx ends, is rolled back to its savepoint alone; the others
// commit. With synchronous=FULL each commit costs a sync of the WAL and a
// fixed amount of work, so under load (several writes waiting) a group
// shares both; a lone write runs as before, without a savepoint. Each fn
// sees the writes of the fns before it in its group, as if they had been
// committed one after another.
//
// Statements inside fn run under context.WithoutCancel(ctx): a
// cancellation is honoured between fns and before the commit, never by
// interrupting a statement, which would roll back the whole group.
func (s *Store) write(ctx context.Context, op string, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return kerr.Wrap(op, err)
	}
	req := &writeReq{ctx: ctx, op: op, fn: fn}
	s.gmu.Lock()
	s.pending = append(s.pending, req)
	for !req.finished {
		if s.committing {
			s.gcond.Wait()
			continue
		}
		// The connection is free: commit what is queued, oldest first.
		s.committing = true
		n := min(len(s.pending), maxGroup)
		group := s.pending[:n:n]
		if s.pending = s.pending[n:]; len(s.pending) == 0 {
			s.pending = nil
		}
		s.gmu.Unlock()
		s.commitGroupSafely(group)
		s.gmu.Lock()
		s.committing = false
		for _, r := range group {
			r.finished = true
		}
		s.gcond.Broadcast()
	}
	s.gmu.Unlock()
	s.prepareQueued(context.WithoutCancel(ctx))
	return req.err
}

// writeReq is one write waiting for, or in, a group commit.
type writeReq struct {
	ctx      context.Context
	op       string
	fn       func(tx *wtx) error
	err      error
	finished bool // guarded by Store.gmu
}

// maxGroup bounds a group: past it, later writes wait for the next one.
const maxGroup = 64

// commitGroupSafely is commitGroup that, should a write's fn panic,
// releases the connection and the group's other writers (with an error)
// before the panic goes on: the store stays usable.
func (s *Store) commitGroupSafely(group []*writeReq) {
	defer func() {
		if p := recover(); p != nil {
			s.gmu.Lock()
			s.committing = false
			for _, r := range group {
				if r.err == nil {
					r.err = kerr.E(kerr.Internal, r.op, "a write in the same group failed: %v", p)
				}
				r.finished = true
			}
			s.gcond.Broadcast()
			s.gmu.Unlock()
			panic(p)
		}
	}()
	s.commitGroup(group)
}

// commitGroup runs the group's writes in one transaction and sets each
// one's err.
func (s *Store) commitGroup(group []*writeReq) {
	s.groups.Add(1)
	s.grouped.Add(int64(len(group)))
	fail := func(rs []*writeReq, err error) {
		for _, r := range rs {
			if r.err == nil {
				r.err = dbErr(r.op, err)
			}
		}
	}
	bg := context.Background()
	tx, err := s.w.BeginTx(bg, nil)
	if err != nil {
		fail(group, err)
		return
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if len(group) == 1 {
		r := group[0]
		r.err = r.run(tx, s)
		if r.err == nil {
			failpoint.Hit(failpoint.CommitBegin)
			if err := tx.Commit(); err != nil {
				r.err = dbErr(r.op, err)
			}
			failpoint.Hit(failpoint.CommitDone)
			return
		}
		_ = tx.Rollback()
		return
	}
	var ok []*writeReq
	for _, r := range group {
		if _, err := tx.ExecContext(bg, `SAVEPOINT w`); err != nil {
			_ = tx.Rollback()
			fail(group, err)
			return
		}
		if r.err = r.run(tx, s); r.err != nil {
			_, err := tx.ExecContext(bg, `ROLLBACK TO w`)
			if err == nil {
				_, err = tx.ExecContext(bg, `RELEASE w`)
			}
			if err != nil { // the transaction itself is lost
				_ = tx.Rollback()
				fail(group, err)
				return
			}
			continue
		}
		if _, err := tx.ExecContext(bg, `RELEASE w`); err != nil {
			_ = tx.Rollback()
			fail(group, err)
			return
		}
		ok = append(ok, r)
	}
	if len(ok) == 0 {
		_ = tx.Rollback()
		return
	}
	failpoint.Hit(failpoint.CommitBegin)
	if err := tx.Commit(); err != nil {
		fail(ok, err)
	}
	failpoint.Hit(failpoint.CommitDone)
}

// run runs the write's fn in tx and returns its classified error; a ctx
// that ended by the time fn returns fails the write.
func (r *writeReq) run(tx *sql.Tx, s *Store) error {
	if err := r.ctx.Err(); err != nil {
		return kerr.Wrap(r.op, err)
	}
	if err := r.fn(&wtx{Tx: tx, s: s}); err != nil {
		if kerr.Of(err) == kerr.Internal {
			return dbErr(r.op, err)
		}
		return err
	}
	if err := r.ctx.Err(); err != nil {
		return kerr.Wrap(r.op, err)
	}
	return nil
}

// dbErr classifies a database error.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return kerr.Wrap(op, err)
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return kerr.WrapKind(kerr.Unavailable, op, "", err)
	case strings.Contains(err.Error(), "SQLITE_BUSY"), strings.Contains(err.Error(), "database is locked"):
		// The driver reports lock timeouts only in its message text.
		return kerr.WrapKind(kerr.Unavailable, op, "the database is busy; retry", err)
	}
	return kerr.WrapKind(kerr.Internal, op, "", err)
}

// nanos stores times as integers; zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func encode(op string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", kerr.Wrap(op, err)
	}
	return string(b), nil
}

func decode(op string, body string, v any) error {
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return kerr.WrapKind(kerr.Internal, op, "stored record is not valid JSON", err)
	}
	return nil
}

// appendAudit appends sealed copies of entries in tx and returns them; the
// caller copies them back after the commit succeeded.
func appendAudit(ctx context.Context, tx *wtx, op string, entries []storage.AuditEntry) ([]storage.AuditEntry, error) {
	if len(entries) == 0 {
		return nil, kerr.E(kerr.Invalid, op, "every write needs at least one audit entry")
	}
	for i, e := range entries {
		if e.Time.IsZero() || e.Action == "" {
			return nil, kerr.E(kerr.Invalid, op, "audit entry %d needs a Time and an Action", i)
		}
	}
	var lastSeq int64
	var lastHash []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&lastSeq, &lastHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, dbErr(op, err)
	}
	sealed := append([]storage.AuditEntry(nil), entries...)
	storage.SealAuditWith(tx.s.auditKey, lastSeq, lastHash, sealed)
	for _, e := range sealed {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, at, actor_user, actor_company, remote_addr, action, case_id, detail, prev_hash, hash, key_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.Time.UnixNano(), e.ActorUserID, e.ActorCompanyID, e.RemoteAddr, e.Action, e.CaseID, e.Detail, nonNil(e.PrevHash), e.Hash, e.KeyID)
		if err != nil {
			return nil, dbErr(op, err)
		}
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
	const op = "sqlite.AppendAudit"
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) (err error) {
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
	const op = "sqlite.ListAudit"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	q := `SELECT seq, at, actor_user, actor_company, remote_addr, action, case_id, detail, prev_hash, hash, key_id FROM audit WHERE seq > ?`
	args := []any{afterSeq}
	if caseID != "" {
		q += ` AND case_id = ?`
		args = append(args, caseID)
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
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
