package job

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope/internal/sqlstore"
)

// CampaignReconcileArgs asks for finished calls' outcomes to be recorded
// against their campaign contacts (seed 004); a no-op for calls outside
// campaigns. A job names one call (TenantID, CallID), or the calls of one
// commit (Calls), as EnqueueCampaignReconcile makes it.
type CampaignReconcileArgs struct {
	TenantID string    `json:"tenant_id,omitempty"`
	CallID   string    `json:"call_id,omitempty"`
	Calls    []CallRef `json:"calls,omitempty"`
}

// CallRef names one call of a tenant.
type CallRef struct {
	TenantID string `json:"tenant_id"`
	CallID   string `json:"call_id"`
}

// Kind implements river.JobArgs.
func (CampaignReconcileArgs) Kind() string { return "campaign.reconcile" }

// Refs returns the calls a job names.
func (a CampaignReconcileArgs) Refs() []CallRef {
	refs := a.Calls
	if a.CallID != "" {
		refs = append([]CallRef{{TenantID: a.TenantID, CallID: a.CallID}}, refs...)
	}
	return refs
}

// EnqueueCampaignReconcile asks, in tx, for a call to be reconciled with
// its campaign. The calls of one commit share one job: reconciliation runs
// for every call and is a no-op for most, so a job each would cost more
// than the work.
func (q *Queue) EnqueueCampaignReconcile(tx *sqlstore.Tx, tenantID, callID string) {
	tx.Defer(q, CallRef{TenantID: tenantID, CallID: callID}, q.flush)
}

// PendingWorker completes jobs of a kind without doing their work: it
// checks the call still exists and records, in the log and in the job's
// output, why nothing was done. Tests use it where a kind's real worker
// (processing, say) would get in the way of what they observe.
type PendingWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	Store  *sqlstore.Store
	Logger *slog.Logger
	Reason string
	call   func(T) (tenant, call string)
}

// NewPendingWorker returns a PendingWorker for args that name a call.
func NewPendingWorker[T river.JobArgs](store *sqlstore.Store, log *slog.Logger, reason string, call func(T) (string, string)) *PendingWorker[T] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PendingWorker[T]{Store: store, Logger: log, Reason: reason, call: call}
}

// Work implements river.Worker.
func (w *PendingWorker[T]) Work(ctx context.Context, j *river.Job[T]) error {
	tenant, call := w.call(j.Args)
	if _, err := w.Store.Call(ctx, tenant, call); err != nil {
		return river.JobCancel(err)
	}
	w.Logger.InfoContext(ctx, "job skipped", "kind", j.Kind, "call_id", call, "reason", w.Reason)
	return river.RecordOutput(ctx, map[string]string{"skipped": w.Reason})
}
