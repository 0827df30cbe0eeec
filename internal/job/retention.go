package job

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/callscope/callscope/internal/sqlstore"
)

// RetentionArgs is the periodic job that applies every tenant's retention
// settings (internal/call works it).
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "retention.apply" }

// InsertOpts implements river.JobArgsWithInsertOpts: one run waits at a
// time, whichever replica scheduled it.
func (RetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// RetentionJob schedules RetentionArgs every interval (and once at start).
// Every replica schedules it; the unique insert keeps one run at a time.
func RetentionJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// ForgetCall deletes, in tx, the queue's jobs whose arguments name the call
// (its processing, analyzer, CRM and campaign jobs), so that no row of the
// queue mentions an erased call. It returns how many it deleted. A job of
// the call running at this moment finds the call gone and fails.
func (q *Queue) ForgetCall(ctx context.Context, tx *sqlstore.Tx, callID string) (int, error) {
	const del = `DELETE FROM river_job WHERE CAST(args AS TEXT) LIKE $1`
	pattern := "%" + callID + "%"
	if q.store.Dialect() == sqlstore.Postgres {
		tag, err := tx.PgxTx().Exec(ctx, del, pattern)
		return int(tag.RowsAffected()), err
	}
	res, err := tx.SQLTx().ExecContext(ctx, del, pattern)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
