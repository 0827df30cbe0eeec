package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
)

// ProcessCallArgs asks for a call's post-call pipeline to run.
type ProcessCallArgs struct {
	TenantID string `json:"tenant_id"`
	CallID   string `json:"call_id"`
	Force    bool   `json:"force,omitempty"`
}

// Kind implements river.JobArgs.
func (ProcessCallArgs) Kind() string { return "call.process" }

// InsertOpts runs processing in its own queue. At most one job per call
// is due at a time because a job is only inserted together with the
// processing record's atomic move to pending (Store.RequestProcessing), not
// by a unique-job rule: River may still hold a finished run as running for
// a moment, and a forced rerun must not be lost to it.
func (ProcessCallArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: job.QueueProcessing, MaxAttempts: 8}
}

// Worker runs the processing job of a call.
type Worker struct {
	river.WorkerDefaults[ProcessCallArgs]
	Runner *Runner
	// Limit bounds one run (PROCESSING_TIMEOUT_SECONDS).
	Limit time.Duration
}

// Timeout implements river.Worker.
func (w *Worker) Timeout(*river.Job[ProcessCallArgs]) time.Duration { return w.Limit }

// Work implements river.Worker: permanent failures end the job, retryable
// ones come back after the provider's Retry-After or River's backoff; the
// last attempt's failure marks the processing failed.
func (w *Worker) Work(ctx context.Context, j *river.Job[ProcessCallArgs]) error {
	err := w.Runner.Run(ctx, j.Args.TenantID, j.Args.CallID)
	if err == nil {
		return nil
	}
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return river.JobCancel(err)
	}
	var se *StageError
	if !errors.As(err, &se) {
		return err
	}
	if !se.Retryable {
		return river.JobCancel(err)
	}
	if j.Attempt >= j.MaxAttempts {
		w.Runner.GiveUp(context.WithoutCancel(ctx), j.Args.TenantID, j.Args.CallID, err)
		return river.JobCancel(err)
	}
	if se.RetryAfter > 0 {
		return river.JobSnooze(se.RetryAfter)
	}
	return err
}

// Discarded marks the call's processing failed when its job was discarded
// because the process running its last attempt died (job.Config.Discarded):
// the worker never returned, so nothing else would.
func (w *Worker) Discarded(ctx context.Context, args []byte) {
	var a ProcessCallArgs
	if json.Unmarshal(args, &a) != nil || a.CallID == "" {
		return
	}
	w.Runner.GiveUp(ctx, a.TenantID, a.CallID, errors.New("the process running it stopped"))
}

// GiveUp marks a call's processing failed after its last attempt.
func (r *Runner) GiveUp(ctx context.Context, tenantID, callID string, cause error) {
	call, err := r.Store.Call(ctx, tenantID, callID)
	if err != nil {
		return
	}
	p, err := r.Store.Processing(ctx, call.ID)
	if err != nil {
		return
	}
	ru := &run{r: r, call: call, p: p, tenant: &callscope.Tenant{ID: tenantID}}
	_ = ru.fail(ctx, p.CurrentStage, time.Now(), errors.Join(ErrPermanent, errors.New("gave up after the last attempt: "+cause.Error())))
}
