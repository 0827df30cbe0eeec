package job

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/callscope/callscope/internal/sqlstore"
)

// A queue process holds the jobs it runs under a lease: it writes a
// heartbeat to queue_clients every HeartbeatInterval, and River records its
// client id as the last entry of each job's attempted_by. Every working
// process also looks, as often, for running jobs whose last client has not
// written a heartbeat for LeaseTimeout, and puts them back in the queue, the
// attempt counted as River's own rescuer counts it. A live process's jobs
// are never touched: its heartbeat is fresh. A process that cannot write its
// heartbeat for most of a lease (a database outage, a stalled machine)
// cancels its running jobs itself before anyone may take them over.
//
// Jobs of a client with no row at all (a process of an earlier version,
// during a rolling upgrade) are left to River's own, slower rescuer.

// errLeaseLost cancels the jobs of a process that could not renew its lease.
var errLeaseLost = errors.New("job lease lost: the heartbeat could not be written in time; the job goes back to the queue")

// forgetClientsAfter is how long a stopped or dead client's row is kept.
const forgetClientsAfter = 24 * time.Hour

// lease is one queue process's claim on the jobs it runs.
type lease struct {
	store *sqlstore.Store
	id    string
	every time.Duration
	ttl   time.Duration
	cfg   *Config

	mu       sync.Mutex
	lastBeat time.Time // local clock, when the last heartbeat was written
	jobs     context.Context
	lose     context.CancelCauseFunc
}

func newLease(store *sqlstore.Store, id string, cfg *Config) *lease {
	l := &lease{store: store, id: id, every: cfg.HeartbeatInterval, ttl: cfg.LeaseTimeout, cfg: cfg}
	l.jobs, l.lose = context.WithCancelCause(context.Background())
	return l
}

// newClientID returns a client id unique to this process: the host, for
// people reading the jobs table, and random bytes, so that a restarted
// process never takes over its predecessor's identity.
func newClientID() string {
	host, _ := os.Hostname()
	host = strings.NewReplacer(".", "_", " ", "_").Replace(host)
	if len(host) > 40 {
		host = host[:40]
	}
	if host == "" {
		host = "host"
	}
	b := make([]byte, 8)
	rand.Read(b)
	return host + "_" + hex.EncodeToString(b)
}

// fenceAfter is how long without a written heartbeat a process works on:
// past it, other processes may soon consider it dead, so it cancels its
// jobs first.
func (l *lease) fenceAfter() time.Duration {
	return max(l.ttl-2*l.every, l.ttl/2)
}

// middleware runs every job under the lease: its context ends when the lease
// is lost.
func (l *lease) middleware() rivertype.Middleware {
	return river.WorkerMiddlewareFunc(func(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
		l.mu.Lock()
		jobs := l.jobs
		l.mu.Unlock()
		if err := context.Cause(jobs); err != nil {
			return err
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(jobs, func() { cancel(context.Cause(jobs)) })
		defer stop()
		return doInner(ctx)
	})
}

// beat writes the heartbeat, creating the client's row when it is missing.
func (l *lease) beat(ctx context.Context) error {
	var q string
	switch l.store.Dialect() {
	case sqlstore.Postgres:
		q = `INSERT INTO queue_clients (client_id, started_at, heartbeat_at) VALUES ($1, clock_timestamp(), clock_timestamp())
			ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = clock_timestamp()`
	default:
		q = `INSERT INTO queue_clients (client_id, started_at, heartbeat_at) VALUES ($1, ` + sqliteNow + `, ` + sqliteNow + `)
			ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = ` + sqliteNow
	}
	start := time.Now()
	if _, err := l.exec(ctx, q, l.id); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastBeat = start
	if l.jobs.Err() != nil {
		l.jobs, l.lose = context.WithCancelCause(context.Background())
	}
	return nil
}

// fence cancels the running jobs when the heartbeat has not been written
// for too long.
func (l *lease) fence() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jobs.Err() == nil && time.Since(l.lastBeat) > l.fenceAfter() {
		l.cfg.Logger.Error("job lease lost: cancelling running jobs", "client_id", l.id,
			"last_heartbeat", l.lastBeat.Format(time.RFC3339Nano))
		l.lose(errLeaseLost)
	}
}

// release marks the client gone, so that any job it still held (a stop
// that timed out) is taken over at once.
func (l *lease) release(ctx context.Context) error {
	q := `UPDATE queue_clients SET heartbeat_at = '1970-01-01 00:00:00.000' WHERE client_id = $1`
	_, err := l.exec(ctx, q, l.id)
	return err
}

// sqliteNow is the current time in River's SQLite format.
const sqliteNow = `strftime('%Y-%m-%d %H:%M:%f', 'now')`

// rescuedJob is a job taken back from a dead client.
type rescuedJob struct {
	ID     int64
	Kind   string
	State  string
	Client string
	Args   []byte
}

// rescue puts back in the queue the running jobs of clients whose heartbeat
// is older than the lease: available at once, or discarded when that was
// their last attempt, or cancelled when a cancel was asked for. The update
// checks, row by row, that the job is still running for that client, so a
// job another process took meanwhile is left alone.
func (l *lease) rescue(ctx context.Context) ([]rescuedJob, error) {
	secs := l.ttl.Seconds()
	// A read first: most looks find nothing, and on SQLite an update takes
	// the one writer even then.
	var probe string
	var arg any
	switch l.store.Dialect() {
	case sqlstore.Postgres:
		probe = `SELECT count(*) FROM river_job AS j JOIN queue_clients AS c
				ON c.client_id = j.attempted_by[array_upper(j.attempted_by, 1)]
			WHERE j.state = 'running' AND c.heartbeat_at < clock_timestamp() - make_interval(secs => $1)`
		arg = secs
	default:
		probe = `SELECT count(*) FROM river_job JOIN queue_clients AS c
				ON c.client_id = json_extract(river_job.attempted_by, '$[#-1]')
			WHERE river_job.state = 'running' AND c.heartbeat_at < strftime('%Y-%m-%d %H:%M:%f', 'now', $1)`
		arg = fmt.Sprintf("-%.3f seconds", secs)
	}
	if n, err := l.count(ctx, probe, arg); err != nil || n == 0 {
		return nil, err
	}
	var q string
	switch l.store.Dialect() {
	case sqlstore.Postgres:
		q = `UPDATE river_job AS j SET
				state = (CASE
					WHEN j.metadata ? 'cancel_attempted_at' THEN 'cancelled'
					WHEN j.attempt >= j.max_attempts THEN 'discarded'
					ELSE 'available' END)::text::river_job_state,
				finalized_at = CASE
					WHEN j.metadata ? 'cancel_attempted_at' OR j.attempt >= j.max_attempts THEN now()
					ELSE NULL END,
				scheduled_at = CASE
					WHEN j.metadata ? 'cancel_attempted_at' OR j.attempt >= j.max_attempts THEN j.scheduled_at
					ELSE now() END,
				errors = array_append(j.errors, jsonb_build_object('at', now(), 'attempt', greatest(j.attempt, 0),
					'error', 'Job rescued: its queue client ' || c.client_id || ' stopped sending heartbeats', 'trace', '')),
				metadata = j.metadata || jsonb_build_object('river:rescue_count',
					coalesce(CASE WHEN jsonb_typeof(j.metadata -> 'river:rescue_count') = 'number'
						THEN (j.metadata ->> 'river:rescue_count')::int END, 0) + 1)
			FROM queue_clients AS c
			WHERE j.state = 'running'
				AND c.client_id = j.attempted_by[array_upper(j.attempted_by, 1)]
				AND c.heartbeat_at < clock_timestamp() - make_interval(secs => $1)
			RETURNING j.id, j.kind, j.state::text, c.client_id, j.args`
		return l.query(ctx, q, secs)
	default:
		q = `UPDATE river_job SET
				state = CASE
					WHEN json_type(metadata, '$.cancel_attempted_at') IS NOT NULL THEN 'cancelled'
					WHEN attempt >= max_attempts THEN 'discarded'
					ELSE 'available' END,
				finalized_at = CASE
					WHEN json_type(metadata, '$.cancel_attempted_at') IS NOT NULL OR attempt >= max_attempts THEN ` + sqliteNow + `
					ELSE NULL END,
				scheduled_at = CASE
					WHEN json_type(metadata, '$.cancel_attempted_at') IS NOT NULL OR attempt >= max_attempts THEN scheduled_at
					ELSE ` + sqliteNow + ` END,
				errors = jsonb(json_insert(json(coalesce(errors, jsonb('[]'))), '$[#]', json_object(
					'at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'attempt', max(attempt, 0),
					'error', 'Job rescued: its queue client ' || c.client_id || ' stopped sending heartbeats', 'trace', ''))),
				metadata = jsonb_set(metadata, '$."river:rescue_count"', coalesce(
					CASE json_type(metadata, '$."river:rescue_count"')
						WHEN 'integer' THEN json_extract(metadata, '$."river:rescue_count"')
						WHEN 'real' THEN json_extract(metadata, '$."river:rescue_count"') END, 0) + 1)
			FROM queue_clients AS c
			WHERE river_job.state = 'running'
				AND c.client_id = json_extract(river_job.attempted_by, '$[#-1]')
				AND c.heartbeat_at < strftime('%Y-%m-%d %H:%M:%f', 'now', $1)
			RETURNING id, kind, state, json_extract(attempted_by, '$[#-1]'), json(args)`
		return l.query(ctx, q, fmt.Sprintf("-%.3f seconds", secs))
	}
}

// forget deletes the rows of clients gone for a day; their jobs, if any
// were left, were taken back long before.
func (l *lease) forget(ctx context.Context) error {
	var err error
	switch l.store.Dialect() {
	case sqlstore.Postgres:
		_, err = l.exec(ctx, `DELETE FROM queue_clients WHERE heartbeat_at < clock_timestamp() - make_interval(secs => $1)`,
			forgetClientsAfter.Seconds())
	default:
		_, err = l.exec(ctx, `DELETE FROM queue_clients WHERE heartbeat_at < strftime('%Y-%m-%d %H:%M:%f', 'now', $1)`,
			fmt.Sprintf("-%.0f seconds", forgetClientsAfter.Seconds()))
	}
	return err
}

func (l *lease) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if l.store.Dialect() == sqlstore.Postgres {
		tag, err := l.store.Pool().Exec(ctx, q, args...)
		return tag.RowsAffected(), err
	}
	res, err := l.store.SQLDB().ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (l *lease) count(ctx context.Context, q string, args ...any) (int, error) {
	var n int
	var err error
	if l.store.Dialect() == sqlstore.Postgres {
		err = l.store.Pool().QueryRow(ctx, q, args...).Scan(&n)
	} else {
		err = l.store.SQLDB().QueryRowContext(ctx, q, args...).Scan(&n)
	}
	return n, err
}

func (l *lease) query(ctx context.Context, q string, args ...any) ([]rescuedJob, error) {
	var out []rescuedJob
	if l.store.Dialect() == sqlstore.Postgres {
		rows, err := l.store.Pool().Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var r rescuedJob
			if err := rows.Scan(&r.ID, &r.Kind, &r.State, &r.Client, &r.Args); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	}
	rows, err := l.store.SQLDB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r rescuedJob
		if err := rows.Scan(&r.ID, &r.Kind, &r.State, &r.Client, &r.Args); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// run beats, fences and rescues every interval until stop is closed.
func (l *lease) run(ctx context.Context, stop <-chan struct{}) {
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	lastForget := time.Time{}
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		bctx, cancel := context.WithTimeout(ctx, l.fenceAfter())
		if err := l.beat(bctx); err != nil && ctx.Err() == nil {
			l.cfg.Logger.Warn("job lease: writing the heartbeat", "client_id", l.id, "err", err)
		}
		cancel()
		l.fence()
		l.rescueOnce(ctx)
		if time.Since(lastForget) > time.Hour {
			lastForget = time.Now()
			if err := l.forget(ctx); err != nil && ctx.Err() == nil {
				l.cfg.Logger.Warn("job lease: forgetting old clients", "err", err)
			}
		}
	}
}

// rescueOnce takes back dead clients' jobs and logs what it did.
func (l *lease) rescueOnce(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	jobs, err := l.rescue(rctx)
	if err != nil {
		if ctx.Err() == nil {
			l.cfg.Logger.Warn("job lease: rescuing the jobs of dead clients", "err", err)
		}
		return
	}
	for _, j := range jobs {
		l.cfg.Logger.Info("job rescued from a dead queue client", "job_id", j.ID, "kind", j.Kind,
			"state", j.State, "dead_client_id", j.Client)
		if f := l.cfg.Discarded[j.Kind]; f != nil && j.State == "discarded" {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			f(hctx, j.Args)
			cancel()
		}
	}
}
