package analyze

import (
	"context"
	"errors"
	"strconv"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
)

// RunWorker works analyzers.run: each analyzer named in the job runs on the
// call's transcript and appends one run. The runs carry the job's run key,
// so a retried job runs only the analyzers it has not stored yet.
type RunWorker struct {
	river.WorkerDefaults[RunArgs]
	cfg Config
}

// runFailure is one analyzer that could not run, reported in the job's
// output.
type runFailure struct {
	AnalyzerID string `json:"analyzer_id"`
	Error      string `json:"error"`
}

// Work implements river.Worker.
func (w *RunWorker) Work(ctx context.Context, j *river.Job[RunArgs]) error {
	c := &w.cfg
	t, err := c.Store.Tenant(ctx, j.Args.TenantID)
	if err != nil {
		return cancelIfGone(err)
	}
	call, err := c.Store.Call(ctx, t.ID, j.Args.CallID)
	if err != nil {
		return cancelIfGone(err)
	}
	in, err := c.input(ctx, t, call)
	if errors.Is(err, errNoTranscript) {
		return river.JobCancel(err)
	} else if err != nil {
		return err
	}
	eng, err := c.runner(t)
	if err != nil {
		return river.JobCancel(err)
	}
	key := "job:" + strconv.FormatInt(j.ID, 10)
	appended := 0
	failures := []runFailure{}
	for _, id := range j.Args.AnalyzerIDs {
		a, err := c.Store.Analyzer(ctx, t.ID, id)
		if callscope.ErrorCode(err) == callscope.ENOTFOUND {
			continue // deleted since the re-run was asked for
		} else if err != nil {
			return err
		}
		if done, err := c.Store.HasAnalyzerRun(ctx, call.ID, a.ID, key); err != nil {
			return err
		} else if done {
			continue
		}
		text, out, _, err := eng.RunAnalyzer(ctx, a, in)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if answer, ok := retry(err, j.Attempt, j.MaxAttempts); ok {
				return answer
			}
			c.Logger.WarnContext(ctx, "analyzer failed", "call_id", call.ID, "analyzer_id", a.ID, "error", err.Error())
			failures = append(failures, runFailure{AnalyzerID: a.ID, Error: err.Error()})
			continue
		}
		ok, err := c.Store.AppendAnalyzerRunOnce(ctx, newRun(call, a, text, out), key)
		if err != nil {
			return err
		}
		if ok {
			appended++
		}
	}
	return river.RecordOutput(ctx, map[string]any{"appended": appended, "failed": failures})
}

// cancelIfGone ends a job whose tenant or call no longer exists.
func cancelIfGone(err error) error {
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return river.JobCancel(err)
	}
	return err
}
