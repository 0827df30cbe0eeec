package call

import (
	"context"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// CancelScheduledTx cancels, in tx, an outbound call not placed yet (its
// campaign was cancelled); a call placed or over already is left alone.
// It reports whether the call was cancelled.
func (s *Service) CancelScheduledTx(ctx context.Context, tx *sqlstore.Tx, tenantID, callID, reason string) (bool, error) {
	o, err := s.lockedOutbound(ctx, tx, tenantID, "", callID)
	if err != nil {
		return false, err
	}
	if o.Call.Status != callscope.CallScheduled {
		return false, nil
	}
	if o.Waiting != "" {
		o.Waiting = ""
		if err := tx.UpdateOutboundCall(ctx, o); err != nil {
			return false, err
		}
	}
	return s.applyStatus(ctx, tx, o.Call, StatusChange{Status: callscope.CallCancelled, Reason: reason, DisconnectedBy: "system"}, false)
}

// Clock returns the service's clock, so that work done beside it keeps its time.
func (s *Service) Clock() func() time.Time { return s.now }

// campaignWindowOpen returns when the calling window of the campaign o
// belongs to is next open from now (now while it is open, or when the
// campaign has no window of its own), with the contact's time zone.
func (s *Service) campaignWindowOpen(ctx context.Context, tx *sqlstore.Tx, o *callscope.OutboundCall, set *callscope.AutocallerSetting, now time.Time) (time.Time, *time.Location, error) {
	camp, err := tx.Campaign(ctx, o.TenantID, o.Call.CampaignID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return now, time.UTC, nil
	} else if err != nil {
		return time.Time{}, nil, err
	}
	loc := set.Zone(o.TimeZone)
	if camp.CallingWindow == nil {
		return now, loc, nil
	}
	return camp.CallingWindow.NextOpen(now, loc), loc, nil
}
