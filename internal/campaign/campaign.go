// Package campaign reconciles campaign calls with their contacts: each
// finished call of a campaign counts as one attempt at its contact and
// decides what the campaign does next with it.
package campaign

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Worker works campaign.reconcile jobs (seed 004): a finished
// campaign call's outcome is recorded against its contact, once per call; a
// call outside campaigns, or not yet over, is left alone.
type Worker struct {
	river.WorkerDefaults[job.CampaignReconcileArgs]
	Store  *sqlstore.Store
	Logger *slog.Logger
	// Campaigns, when set, also redials outbound campaigns' contacts and
	// puts numbers that opted out on the do-not-call list (see
	// Service.Reconcile).
	Campaigns *Service
}

// Work implements river.Worker. A job naming one call is cancelled when
// the call is gone or cannot be reconciled; a job naming a commit's calls
// records those as skipped and goes on with the rest. Reconciling is
// idempotent, so a retry after a failure redoes the whole job safely.
func (w *Worker) Work(ctx context.Context, j *river.Job[job.CampaignReconcileArgs]) error {
	refs := j.Args.Refs()
	// Most calls are not campaign calls: read the few fields that tell,
	// for all the job's calls at once (one query per tenant).
	byTenant := map[string][]string{}
	for _, ref := range refs {
		byTenant[ref.TenantID] = append(byTenant[ref.TenantID], ref.CallID)
	}
	calls := map[job.CallRef]*callscope.Call{}
	for tenant, ids := range byTenant {
		found, err := w.Store.CallOutcomes(ctx, tenant, ids)
		if err != nil {
			return err
		}
		for id, c := range found {
			calls[job.CallRef{TenantID: tenant, CallID: id}] = c
		}
	}
	if len(refs) == 1 {
		cc, skipped, err := w.reconcile(ctx, calls[refs[0]])
		switch {
		case err != nil && callscope.ErrorCode(err) != callscope.EINTERNAL:
			return river.JobCancel(err)
		case err != nil:
			return err
		case skipped != "":
			return river.RecordOutput(ctx, map[string]string{"skipped": skipped})
		}
		return river.RecordOutput(ctx, cc)
	}
	out := struct {
		Reconciled []*callscope.CampaignContact `json:"reconciled,omitempty"`
		Skipped    map[string]string            `json:"skipped,omitempty"`
	}{Skipped: map[string]string{}}
	var retry error
	for _, ref := range refs {
		cc, skipped, err := w.reconcile(ctx, calls[ref])
		switch {
		case err != nil && callscope.ErrorCode(err) != callscope.EINTERNAL:
			out.Skipped[ref.CallID] = err.Error()
		case err != nil:
			retry = err
		case skipped != "":
			out.Skipped[ref.CallID] = skipped
		default:
			out.Reconciled = append(out.Reconciled, cc)
		}
	}
	if retry != nil {
		return retry
	}
	return river.RecordOutput(ctx, out)
}

// reconcile records one call (nil when it does not exist) against its
// campaign contact, or says why it was skipped. Errors other than EINTERNAL
// are permanent.
func (w *Worker) reconcile(ctx context.Context, c *callscope.Call) (cc *callscope.CampaignContact, skipped string, err error) {
	if c == nil {
		return nil, "", callscope.Errorf(callscope.ENOTFOUND, "Call session not found")
	}
	if !c.Status.Final() {
		return nil, "call not over", nil
	}
	if w.Campaigns != nil {
		cc, err = w.Campaigns.Reconcile(ctx, c)
	} else if c.CampaignID != "" {
		cc, err = w.Store.ReconcileCampaignCall(ctx, c, CampaignContactOf(c))
	}
	if err != nil {
		return nil, "", err
	}
	if c.CampaignID == "" {
		return nil, "not a campaign call", nil
	}
	if w.Logger != nil {
		w.Logger.InfoContext(ctx, "campaign call reconciled", "campaign_id", cc.CampaignID, "call_id", c.ID,
			"attempts", cc.Attempts, "next_action", cc.NextAction)
	}
	return cc, "", nil
}

// CampaignContactOf names the contact a campaign call was for: the dialled
// number of an outbound call, the caller of an inbound one.
func CampaignContactOf(c *callscope.Call) string {
	if c.Direction == callscope.Inbound {
		return c.From
	}
	return c.To
}
