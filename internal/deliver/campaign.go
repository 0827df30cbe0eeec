package deliver

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

// CampaignWorker works campaign.reconcile jobs (seed 004): a finished
// campaign call's outcome is recorded against its contact, once per call; a
// call outside campaigns, or not yet over, is left alone.
type CampaignWorker struct {
	river.WorkerDefaults[job.CampaignReconcileArgs]
	Store  *sqlstore.Store
	Logger *slog.Logger
}

// Work implements river.Worker.
func (w *CampaignWorker) Work(ctx context.Context, j *river.Job[job.CampaignReconcileArgs]) error {
	c, err := w.Store.Call(ctx, j.Args.TenantID, j.Args.CallID)
	if err != nil {
		return river.JobCancel(err)
	}
	if c.CampaignID == "" {
		return river.RecordOutput(ctx, map[string]string{"skipped": "not a campaign call"})
	}
	if !c.Status.Final() {
		return river.RecordOutput(ctx, map[string]string{"skipped": "call not over"})
	}
	cc, err := w.Store.ReconcileCampaignCall(ctx, c, CampaignContactOf(c))
	if callscope.ErrorCode(err) == callscope.EINVALID {
		return river.JobCancel(err)
	} else if err != nil {
		return err
	}
	if w.Logger != nil {
		w.Logger.InfoContext(ctx, "campaign call reconciled", "campaign_id", cc.CampaignID, "call_id", c.ID,
			"attempts", cc.Attempts, "next_action", cc.NextAction)
	}
	return river.RecordOutput(ctx, cc)
}

// CampaignContactOf names the contact a campaign call was for: the dialled
// number of an outbound call, the caller of an inbound one.
func CampaignContactOf(c *callscope.Call) string {
	if c.Direction == callscope.Inbound {
		return c.From
	}
	return c.To
}
