package analyze

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
)

// BackfillWorker works analyzers.backfill: it walks the backfill's calls
// newest first, a page at a time, and for each appends one run of the
// analyzer and advances the backfill's progress and cursor in the same
// transaction. A cancelled backfill stops before its next call; a stopped
// job (shutdown, crash, the end of its time slice) resumes after the last
// call it finished, and the backfill's run key keeps a call from getting
// two runs.
type BackfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	cfg Config
}

// Timeout implements river.Worker: one time slice and room for the call
// in progress.
func (w *BackfillWorker) Timeout(*river.Job[BackfillArgs]) time.Duration {
	return w.cfg.Slice + 5*time.Minute
}

// Work implements river.Worker.
func (w *BackfillWorker) Work(ctx context.Context, j *river.Job[BackfillArgs]) error {
	err := w.work(ctx, j)
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	if err != nil && !errors.As(err, &snooze) && !errors.As(err, &cancel) && j.Attempt >= j.MaxAttempts {
		// River gives up on the job: say so on the backfill.
		w.cfg.Store.FinishBackfill(context.WithoutCancel(ctx), j.Args.BackfillID, callscope.BackfillFailed, err)
	}
	return err
}

func (w *BackfillWorker) work(ctx context.Context, j *river.Job[BackfillArgs]) error {
	c := &w.cfg
	b, err := c.Store.Backfill(ctx, j.Args.TenantID, j.Args.BackfillID)
	if err != nil {
		return cancelIfGone(err)
	}
	if b.Finished() {
		return nil
	}
	if running, err := c.Store.StartBackfill(ctx, b.ID); err != nil || !running {
		return err
	}
	fail := func(reason error) error {
		_, err := c.Store.FinishBackfill(context.WithoutCancel(ctx), b.ID, callscope.BackfillFailed, reason)
		return err
	}
	t, err := c.Store.Tenant(ctx, b.TenantID)
	if err != nil {
		return cancelIfGone(err)
	}
	a, err := c.Store.Analyzer(ctx, t.ID, b.AnalyzerID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return fail(errors.New("the analyzer was deleted"))
	} else if err != nil {
		return err
	}
	eng, err := c.runner(t)
	if err != nil {
		return fail(err)
	}
	key := "backfill:" + b.ID
	until := time.Now().Add(c.Slice)
	// stopped answers a job stopped from outside or at the end of its
	// slice: back in the queue at once, to resume from the cursor.
	stopped := func() error { return river.JobSnooze(0) }
	for {
		ids, err := c.Store.BackfillCalls(ctx, b, c.PageSize)
		if err != nil {
			if ctx.Err() != nil {
				return stopped()
			}
			return err
		}
		if len(ids) == 0 {
			_, err := c.Store.FinishBackfill(ctx, b.ID, callscope.BackfillCompleted, nil)
			return err
		}
		for _, id := range ids {
			if b.Filter.Limit > 0 && b.Done+b.Failed >= b.Filter.Limit {
				_, err := c.Store.FinishBackfill(ctx, b.ID, callscope.BackfillCompleted, nil)
				return err
			}
			if ctx.Err() != nil || time.Now().After(until) {
				return stopped()
			}
			// A cancel is seen before the next call costs anything.
			if cur, err := c.Store.Backfill(ctx, t.ID, b.ID); err != nil {
				return err
			} else if cur.Status != callscope.BackfillRunning {
				return nil
			}
			var runErr error
			var run *callscope.AnalyzerRun
			call, err := c.Store.Call(ctx, t.ID, id)
			switch {
			case callscope.ErrorCode(err) == callscope.ENOTFOUND:
				runErr = errors.New("call " + id + " was deleted")
			case err != nil:
				return err
			default:
				text, out, err := w.analyze(ctx, t, a, call, eng)
				if err != nil {
					if ctx.Err() != nil {
						return stopped()
					}
					if answer, ok := retry(err, j.Attempt, j.MaxAttempts); ok {
						return answer
					}
					runErr = errors.New("call " + call.ID + ": " + err.Error())
				} else {
					run = newRun(call, a, text, out)
				}
			}
			err = c.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
				if run != nil {
					if _, err := tx.AppendAnalyzerRunOnce(ctx, run, key); err != nil {
						return err
					}
				}
				return tx.AdvanceBackfill(ctx, b.ID, id, runErr)
			})
			if callscope.ErrorCode(err) == callscope.ECONFLICT {
				return nil // cancelled while the call was analysed
			} else if err != nil {
				if ctx.Err() != nil {
					return stopped()
				}
				return err
			}
			b.ResumeAfter = id
			if runErr != nil {
				b.Failed++
			} else {
				b.Done++
			}
		}
	}
}

// analyze runs the analyzer on one call.
func (w *BackfillWorker) analyze(ctx context.Context, t *callscope.Tenant, a *callscope.Analyzer, call *callscope.Call,
	eng pipeline.AnalyzerRunner) (string, json.RawMessage, error) {
	in, err := w.cfg.input(ctx, t, call)
	if err != nil {
		return "", nil, err
	}
	text, out, _, err := eng.RunAnalyzer(ctx, a, in)
	return text, out, err
}
