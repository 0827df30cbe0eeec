package call

import (
	"context"
	"encoding/json"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// feed adds one item to the live feed in tx: data is a SegmentFeedData or
// a SnapshotFeedData.
func (s *Service) feed(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, data any) error {
	typ := callscope.FeedSegment
	if _, ok := data.(callscope.SnapshotFeedData); ok {
		typ = callscope.FeedSnapshot
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if err := tx.AppendFeed(ctx, []*callscope.Event{{TenantID: c.TenantID, CallID: c.ID, Type: typ, Data: b}}); err != nil {
		return err
	}
	if s.Queue != nil {
		s.Queue.FeedWritten(tx)
	}
	return nil
}

// Snapshot is one window of a live call's progressive analysis to record.
type Snapshot struct {
	callscope.EvolutionSnapshot
	// Changed says whether the window's conclusion differs from the
	// previous window's of its kind.
	Changed bool
}

// RecordProgress stores the snapshots of one progressive-analysis window
// of c, each also on the live feed, and, when risk is set, a
// call.risk_raised event (which notifies the tenant's agent service).
// Returns ENOTFOUND if the call is gone.
func (s *Service) RecordProgress(ctx context.Context, c *callscope.Call, snaps []Snapshot, risk *callscope.RiskRaisedData) error {
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		cur, err := tx.Call(ctx, c.TenantID, c.ID)
		if err != nil {
			return err
		}
		for _, sn := range snaps {
			e := sn.EvolutionSnapshot
			e.CallID, e.TenantID = cur.ID, cur.TenantID
			if err := tx.AppendEvolution(ctx, &e); err != nil {
				return err
			}
			if err := s.feed(ctx, tx, cur, callscope.SnapshotFeedData{CallRefData: callscope.RefOf(cur), Kind: e.Kind,
				WindowIndex: e.WindowIndex, WindowStart: e.WindowStart, WindowEnd: e.WindowEnd,
				Changed: sn.Changed, Data: e.Data}); err != nil {
				return err
			}
		}
		if risk != nil {
			risk.CallRefData = callscope.RefOf(cur)
			if _, err := s.Queue.RecordEvent(ctx, tx, cur, *risk); err != nil {
				return err
			}
		}
		return nil
	})
}
