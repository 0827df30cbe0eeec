// Package job runs callscope's durable work on River, in the same database
// as the call record: jobs are inserted in the transaction of the change that
// causes them, survive restarts, and are retried with backoff.
package job

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Queue names. Processing runs in its own queue so that its concurrency is
// bounded by MAX_CONCURRENT_PROCESSING without starving deliveries.
const (
	QueueDefault    = river.QueueDefault
	QueueProcessing = "processing"
)

// Config tunes the queue.
type Config struct {
	// Workers runs at most this many default-queue jobs at once.
	Workers int
	// ProcessingWorkers bounds concurrent pipeline runs (MAX_CONCURRENT_PROCESSING).
	ProcessingWorkers int
	// PollInterval is how often idle workers look for new jobs when the
	// database cannot notify them (SQLite).
	PollInterval time.Duration
	// JobTimeout bounds one run of a job.
	JobTimeout time.Duration
	// RescueAfter puts jobs left running this long back in the queue, whoever
	// runs them: River's own rescuer, a backstop for jobs the lease does not
	// cover (those of processes of earlier versions).
	RescueAfter time.Duration
	// ClientID names this process among the queue's workers; it must be
	// unique to the process. Empty picks one from the host name and random
	// bytes.
	ClientID string
	// HeartbeatInterval is how often a working queue shows it is alive, and
	// looks for the jobs of queues that stopped showing it.
	HeartbeatInterval time.Duration
	// LeaseTimeout is how long a queue may go without a heartbeat before its
	// running jobs are taken back and run again elsewhere.
	LeaseTimeout time.Duration
	Logger       *slog.Logger
	// OnJobDone, when set, is told the kind and outcome (completed, failed,
	// cancelled, snoozed) of every finished job run.
	OnJobDone func(kind, outcome string, run time.Duration)
	// Discarded, by job kind, is told of a job taken back from a process
	// that died during the job's last attempt: the job is discarded without
	// its worker's last word, so the work it stood for (a call's processing,
	// a delivery) is marked failed here, with the job's encoded args.
	Discarded map[string]func(ctx context.Context, args []byte)
	// Periodic jobs are scheduled by this process while it works jobs.
	Periodic []*river.PeriodicJob
	// NoWork makes a queue that only inserts jobs (for commands that share
	// the database with a running server).
	NoWork bool
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		// Most of these jobs wait on the network (deliveries) or on the
		// database; with few, a busy server's fan-out falls behind.
		c.Workers = 50
	}
	if c.ProcessingWorkers <= 0 {
		c.ProcessingWorkers = 5
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 5 * time.Minute
	}
	if c.RescueAfter <= 0 {
		// A job still running this long after its time limit belongs to a
		// process that died; it goes back to the queue.
		c.RescueAfter = c.JobTimeout + 15*time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 3 * time.Second
	}
	if c.LeaseTimeout <= 0 {
		// Five heartbeats: a busy database may delay one or two.
		c.LeaseTimeout = 5 * c.HeartbeatInterval
	}
	if c.ClientID == "" {
		c.ClientID = newClientID()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Queue inserts and works jobs. Its methods hide which database driver River
// runs on.
type Queue struct {
	store *sqlstore.Store
	c     client
	cfg   Config
	lease *lease

	mu       sync.Mutex
	started  bool
	stopped  bool
	done     chan struct{}
	channels []Channel
	// wake tells the dispatcher events were committed; dispatching is done
	// when it has returned.
	wake         chan struct{}
	stopDispatch func()
	dispatching  sync.WaitGroup
	stopLease    func()
	// feedHook runs after each commit that wrote to the live feed. It is
	// read without mu: Stop holds mu while jobs drain, and a draining job's
	// commit runs the hook.
	feedHook atomic.Pointer[func()]
}

// client is the part of river.Client the queue uses, for either transaction
// type.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	insertTx(ctx context.Context, tx *sqlstore.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertManyTx(ctx context.Context, tx *sqlstore.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

type typed[TTx any] struct {
	*river.Client[TTx]
	unwrap func(*sqlstore.Tx) TTx
}

func (t typed[TTx]) insertTx(ctx context.Context, tx *sqlstore.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return t.Client.InsertTx(ctx, t.unwrap(tx), args, opts)
}

func (t typed[TTx]) insertManyTx(ctx context.Context, tx *sqlstore.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return t.Client.InsertManyTx(ctx, t.unwrap(tx), params)
}

func (t typed[TTx]) insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return t.Client.Insert(ctx, args, opts)
}

// New returns a queue on the store's database working the given workers.
// Call Start to begin working jobs.
func New(store *sqlstore.Store, workers *river.Workers, cfg Config) (*Queue, error) {
	cfg.defaults()
	// After jobs arrive, workers look again at most every 100 ms: every
	// look is a write on SQLite's one writer connection, and looking more
	// often takes the writer from the requests that store results.
	cooldown := min(100*time.Millisecond, cfg.PollInterval)
	rc := &river.Config{
		ID:                   cfg.ClientID,
		Logger:               quiet(cfg.Logger),
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        cooldown,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		MaxAttempts:          25,
	}
	if !cfg.NoWork {
		rc.Workers = workers
		rc.PeriodicJobs = cfg.Periodic
		rc.Queues = map[string]river.QueueConfig{
			QueueDefault:    {MaxWorkers: cfg.Workers},
			QueueProcessing: {MaxWorkers: cfg.ProcessingWorkers},
		}
	}
	q := &Queue{store: store, cfg: cfg, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	if !cfg.NoWork {
		q.lease = newLease(store, cfg.ClientID, &q.cfg)
		rc.Middleware = []rivertype.Middleware{q.lease.middleware()}
	}
	switch store.Dialect() {
	case sqlstore.Postgres:
		c, err := river.NewClient[pgx.Tx](riverpgxv5.New(store.Pool()), rc)
		if err != nil {
			return nil, fmt.Errorf("job queue: %w", err)
		}
		q.c = typed[pgx.Tx]{c, (*sqlstore.Tx).PgxTx}
	default:
		rc.PollOnly = true
		c, err := river.NewClient[*sql.Tx](riversqlite.New(store.SQLDB()), rc)
		if err != nil {
			return nil, fmt.Errorf("job queue: %w", err)
		}
		q.c = typed[*sql.Tx]{c, (*sqlstore.Tx).SQLTx}
	}
	return q, nil
}

// Migrate applies River's own migrations to the store's database.
func Migrate(ctx context.Context, store *sqlstore.Store) error {
	var err error
	switch store.Dialect() {
	case sqlstore.Postgres:
		err = migrate(ctx, riverpgxv5.New(store.Pool()))
	default:
		err = migrate(ctx, riversqlite.New(store.SQLDB()))
	}
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

func migrate[TTx any](ctx context.Context, d riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(d, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// InsertTx inserts a job in tx, so that it exists exactly when the change
// made in tx is committed.
func (q *Queue) InsertTx(ctx context.Context, tx *sqlstore.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.c.insertTx(ctx, tx, args, opts)
}

// Enqueue adds a job to tx: it is inserted just before tx commits, together
// with the other jobs enqueued in transactions sharing that commit, so it
// exists exactly when tx's changes do. Use InsertTx instead where the
// insert's result (a unique job skipped as duplicate) matters.
func (q *Queue) Enqueue(tx *sqlstore.Tx, args river.JobArgs, opts *river.InsertOpts) {
	tx.Defer(q, river.InsertManyParams{Args: args, InsertOpts: opts}, q.flush)
}

// flush inserts, with one statement, the jobs a commit's transactions
// deferred: those enqueued as they are, and one reconciliation job for its
// calls.
func (q *Queue) flush(ctx context.Context, tx *sqlstore.Tx, items []any) error {
	params := make([]river.InsertManyParams, 0, len(items))
	var reconcile []CallRef
	for _, it := range items {
		switch x := it.(type) {
		case river.InsertManyParams:
			params = append(params, x)
		case CallRef:
			reconcile = append(reconcile, x)
		default:
			return fmt.Errorf("job: cannot flush %T", it)
		}
	}
	switch len(reconcile) {
	case 0:
	case 1:
		params = append(params, river.InsertManyParams{Args: CampaignReconcileArgs{TenantID: reconcile[0].TenantID, CallID: reconcile[0].CallID}})
	default:
		params = append(params, river.InsertManyParams{Args: CampaignReconcileArgs{Calls: reconcile}})
	}
	_, err := q.c.insertManyTx(ctx, tx, params)
	return err
}

// Insert inserts a job on its own.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.c.insert(ctx, args, opts)
}

// Start begins working jobs. It returns once the workers run; ctx only
// bounds start-up.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return nil
	}
	if q.cfg.NoWork {
		return callscope.Errorf(callscope.EINTERNAL, "an insert-only queue cannot work jobs")
	}
	if q.cfg.OnJobDone != nil {
		events, cancel := q.c.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
			river.EventKindJobCancelled, river.EventKindJobSnoozed)
		go func() {
			defer cancel()
			for {
				select {
				case ev, ok := <-events:
					if !ok {
						return
					}
					var run time.Duration
					if ev.JobStats != nil {
						run = ev.JobStats.RunDuration
					}
					q.cfg.OnJobDone(ev.Job.Kind, outcome(ev.Kind), run)
				case <-q.done:
					return
				}
			}
		}()
	}
	// The heartbeat exists before River records this client on any job;
	// then the jobs dead processes left are taken back before fetching.
	if err := q.lease.beat(ctx); err != nil {
		return fmt.Errorf("start job queue: heartbeat: %w", err)
	}
	q.lease.rescueOnce(ctx)
	if err := q.c.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	lctx, lcancel := context.WithCancel(context.WithoutCancel(ctx))
	lstop, leasing := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(leasing)
		q.lease.run(lctx, lstop)
	}()
	q.stopLease = func() { close(lstop); lcancel(); <-leasing }
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := make(chan struct{})
	q.stopDispatch = func() { close(stop); cancel() }
	q.dispatching.Add(1)
	go func(channels []Channel) {
		defer q.dispatching.Done()
		q.dispatchLoop(dctx, channels, stop)
	}(q.channels)
	q.started = true
	return nil
}

func outcome(k river.EventKind) string {
	switch k {
	case river.EventKindJobCompleted:
		return "completed"
	case river.EventKindJobFailed:
		return "failed"
	case river.EventKindJobCancelled:
		return "cancelled"
	case river.EventKindJobSnoozed:
		return "snoozed"
	}
	return string(k)
}

// Stop stops fetching new jobs and waits for running ones until ctx is done;
// jobs still running then are cancelled and go back to the queue to be
// retried. Stopping twice, or a queue never started, is not an error.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started || q.stopped {
		return nil
	}
	q.stopped = true
	defer close(q.done)
	// Events not dispatched yet wait in the database for the next start.
	q.stopDispatch()
	q.dispatching.Wait()
	err := q.c.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = q.c.StopAndCancel(hard)
	}
	// The heartbeat goes on while jobs drain; once they have, this client
	// is marked gone, so that any job still recorded as running under it
	// would be taken back at once rather than when the lease runs out. After
	// a failed stop, jobs may still run here: they wait for the lease.
	q.stopLease()
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := q.lease.release(rctx); err != nil {
		return fmt.Errorf("job lease release: %w", err)
	}
	return nil
}

// ClientID returns the id that names this queue's process on the jobs it
// runs.
func (q *Queue) ClientID() string { return q.cfg.ClientID }

// InsertManyTx inserts several jobs in tx with one statement.
func (q *Queue) InsertManyTx(ctx context.Context, tx *sqlstore.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return q.c.insertManyTx(ctx, tx, params)
}
