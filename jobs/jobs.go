// Package jobs runs keiyaku's scheduled work as durable jobs in the
// service's own database with River (github.com/riverqueue/river): on the
// embedded default through riversqlite on the same SQLite file, on
// PostgreSQL through riverpgxv5. Jobs survive restarts (they are rows),
// periodic jobs are scheduled by one elected leader, so they run once
// across processes, and a failed job is retried with River's exponential
// backoff (up to MaxAttempts).
//
// It runs the evidence renewal pass (package renewal) every
// Config.RenewalInterval and once at start, and each Config.Tasks entry
// (maintenance such as anchoring the audit log with a timestamp, pruning
// expired sessions, collecting orphan blobs, the reminder pass of issue
// 12 and the retention sweep) every Task.Interval and once at start.
//
// River's tables (river_job, river_leader, ...) are created and upgraded
// by River's own migrator (rivermigrate) when a Runner is made; they are
// River's schema, versioned by River, and so not in keiyaku's goose
// migrations.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/renewal"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// DefaultRenewalInterval is Config.RenewalInterval's default.
const DefaultRenewalInterval = 24 * time.Hour

// MaxAttempts is how often a failing job is tried before River gives up
// (with exponential backoff between tries, attempt⁴ seconds and more).
const MaxAttempts = 25

// Config configures a Runner. Exactly one of SQLitePath and Postgres is
// required.
type Config struct {
	// SQLitePath is the embedded default's database file; the Runner
	// opens its own connection to it (WAL, one writer at a time).
	SQLitePath string
	// Postgres is the pool of a PostgreSQL database; not closed by the
	// Runner.
	Postgres *pgxpool.Pool
	// Renewer runs the renewal pass; required.
	Renewer *renewal.Renewer
	// RenewalInterval is how often the renewal pass runs; 0 means
	// DefaultRenewalInterval.
	RenewalInterval time.Duration
	// Tasks are further periodic jobs, each run once at start and every
	// Task.Interval, once across processes; nil means none.
	Tasks []Task
	// Logger receives River's and the jobs' lines; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Task is a periodic maintenance job.
type Task struct {
	// Name identifies the task: unique among Config.Tasks, at most 64
	// characters from a-z 0-9 _ (it becomes a River periodic job ID).
	Name string
	// Interval is how often it runs; positive.
	Interval time.Duration
	// Run does the work; an error makes River retry it with backoff.
	Run func(ctx context.Context) error
}

// TaskArgs is the job of a Task.
type TaskArgs struct {
	Name string `json:"name"`
}

// Kind names task jobs in River's table.
func (TaskArgs) Kind() string { return "keiyaku_task" }

// InsertOpts gives a task its attempts.
func (TaskArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: MaxAttempts} }

type taskWorker struct {
	river.WorkerDefaults[TaskArgs]
	tasks map[string]Task
	log   *slog.Logger
}

// Work runs the named task. A name no task of this process has (a job
// queued by a process that knew other tasks) is cancelled, not retried.
func (w *taskWorker) Work(ctx context.Context, job *river.Job[TaskArgs]) error {
	t, ok := w.tasks[job.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("jobs: no task %q in this process", job.Args.Name))
	}
	if err := t.Run(ctx); err != nil {
		w.log.ErrorContext(ctx, "jobs: task failed; River retries it", "task", t.Name, "attempt", job.Attempt, "error", err)
		return err
	}
	return nil
}

// checkTasks returns kerr.Invalid for a task without a valid name, a
// positive interval and a Run, or a repeated name.
func checkTasks(op string, tasks []Task) (map[string]Task, error) {
	m := make(map[string]Task, len(tasks))
	for _, t := range tasks {
		if t.Name == "" || len(t.Name) > 64 || strings.Trim(t.Name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" || t.Interval <= 0 || t.Run == nil {
			return nil, kerr.E(kerr.Invalid, op, "task %q needs a name of a-z 0-9 _ (at most 64), a positive Interval and a Run", t.Name)
		}
		if _, dup := m[t.Name]; dup {
			return nil, kerr.E(kerr.Invalid, op, "two tasks are named %q", t.Name)
		}
		m[t.Name] = t
	}
	return m, nil
}

// RenewArgs is the renewal pass job.
type RenewArgs struct{}

// Kind names the job in River's table.
func (RenewArgs) Kind() string { return "keiyaku_renew_evidence" }

// InsertOpts gives the pass its attempts.
func (RenewArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: MaxAttempts} }

type renewWorker struct {
	river.WorkerDefaults[RenewArgs]
	r   *renewal.Renewer
	log *slog.Logger
}

// Work runs one renewal pass; an error makes River retry it later.
func (w *renewWorker) Work(ctx context.Context, job *river.Job[RenewArgs]) error {
	rep, err := w.r.RenewDue(ctx)
	if err != nil {
		w.log.ErrorContext(ctx, "jobs: renewal pass failed; River retries it", "attempt", job.Attempt, "error", err)
		return err
	}
	w.log.InfoContext(ctx, "jobs: renewal pass", "checked", rep.Checked, "renewed", rep.Renewed, "rehashed", rep.Rehashed)
	return nil
}

// Runner runs the jobs.
type Runner struct {
	start  func(context.Context) error
	stop   func(context.Context) error
	insert func(context.Context, river.JobArgs) error
	close  func() error
}

// New migrates River's schema and returns a Runner. Errors: kerr.Invalid
// for a Config without exactly one database or without a Renewer;
// kerr.Unavailable when the database cannot be opened or migrated.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	const op = "jobs.New"
	if (cfg.SQLitePath == "") == (cfg.Postgres == nil) || cfg.Renewer == nil || cfg.RenewalInterval < 0 {
		return nil, kerr.E(kerr.Invalid, op, "need exactly one of Config.SQLitePath and Config.Postgres, a Config.Renewer and a non-negative Config.RenewalInterval")
	}
	if cfg.RenewalInterval == 0 {
		cfg.RenewalInterval = DefaultRenewalInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tasks, err := checkTasks(op, cfg.Tasks)
	if err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &renewWorker{r: cfg.Renewer, log: cfg.Logger})
	river.AddWorker(workers, &taskWorker{tasks: tasks, log: cfg.Logger})
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.RenewalInterval),
		func() (river.JobArgs, *river.InsertOpts) { return RenewArgs{}, nil },
		&river.PeriodicJobOpts{ID: "keiyaku_renew_evidence", RunOnStart: true})}
	for _, t := range cfg.Tasks {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(t.Interval),
			func() (river.JobArgs, *river.InsertOpts) { return TaskArgs{Name: t.Name}, nil },
			&river.PeriodicJobOpts{ID: "keiyaku_task_" + t.Name, RunOnStart: true}))
	}
	rc := &river.Config{
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers:      workers,
		PeriodicJobs: periodic,
		Logger:       cfg.Logger,
	}
	if cfg.Postgres != nil {
		drv := riverpgxv5.New(cfg.Postgres)
		if err := migrate(ctx, drv); err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, op, "migrating River's schema", err)
		}
		c, err := river.NewClient(drv, rc)
		if err != nil {
			return nil, kerr.WrapKind(kerr.Internal, op, "River client", err)
		}
		return &Runner{start: c.Start, stop: c.Stop, close: func() error { return nil },
			insert: func(ctx context.Context, a river.JobArgs) error { _, err := c.Insert(ctx, a, nil); return err }}, nil
	}
	if strings.ContainsAny(cfg.SQLitePath, "?#") {
		return nil, kerr.E(kerr.Invalid, op, "Config.SQLitePath %q may not contain '?' or '#'", cfg.SQLitePath)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	db, err := sql.Open("sqlite", "file:"+cfg.SQLitePath+"?"+q.Encode())
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "opening "+cfg.SQLitePath, err)
	}
	// SQLite has one writer; River's connections wait on busy_timeout
	// for keiyaku's store and each other.
	db.SetMaxOpenConns(1)
	drv := riversqlite.New(db)
	if err := migrate(ctx, drv); err != nil {
		db.Close()
		return nil, kerr.WrapKind(kerr.Unavailable, op, "migrating River's schema", err)
	}
	c, err := river.NewClient(drv, rc)
	if err != nil {
		db.Close()
		return nil, kerr.WrapKind(kerr.Internal, op, "River client", err)
	}
	return &Runner{start: c.Start, stop: c.Stop, close: db.Close,
		insert: func(ctx context.Context, a river.JobArgs) error { _, err := c.Insert(ctx, a, nil); return err }}, nil
}

func migrate[TTx any](ctx context.Context, drv riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(drv, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// Run works jobs until ctx is done, then stops (waiting up to 30 s for a
// running job) and returns ctx's error; an error starting River is
// returned at once with kind kerr.Unavailable. Run once per Runner.
func (r *Runner) Run(ctx context.Context) error {
	const op = "jobs.Runner.Run"
	if err := r.start(ctx); err != nil {
		return kerr.WrapKind(kerr.Unavailable, op, "starting River", err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.stop(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return kerr.WrapKind(kerr.Unavailable, op, "stopping River", err)
	}
	return ctx.Err()
}

// RenewNow queues a renewal pass now (an operator's request, or after
// changing the TSA); a running Run works it. Errors have kind
// kerr.Unavailable.
func (r *Runner) RenewNow(ctx context.Context) error {
	if err := r.insert(ctx, RenewArgs{}); err != nil {
		return kerr.WrapKind(kerr.Unavailable, "jobs.Runner.RenewNow", "queueing the renewal pass", err)
	}
	return nil
}

// Close releases the Runner's own database connection (SQLite); call it
// after Run has returned.
func (r *Runner) Close() error {
	if err := r.close(); err != nil {
		return kerr.WrapKind(kerr.Internal, "jobs.Runner.Close", "", err)
	}
	return nil
}
