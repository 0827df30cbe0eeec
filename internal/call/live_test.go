package call_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestLiveCallLifecycle opens a live call twice (the second finds the
// first), moves its progress, and ends it without processing as a
// realtime-only call ends.
func TestLiveCallLifecycle(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		tn := sqlstoretest.MustTenant(t, s)
		open := func(info string) (*callscope.Call, bool) {
			c, created, err := svc.OpenLive(ctx, &callscope.Call{TenantID: tn.ID, ConnectionInfo: json.RawMessage(info),
				ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtAudioSocketUUID, Value: "u-1"}}})
			must(t, err)
			return c, created
		}
		c1, created := open(`{"n":1}`)
		if !created || c1.Status != callscope.CallInProgress || c1.LastActivity == nil {
			t.Fatalf("first open: created %v, %+v", created, c1)
		}
		c2, created := open(`{"n":2}`)
		if created || c2.ID != c1.ID || string(c2.ConnectionInfo) != `{"n":2}` {
			t.Fatalf("second open: created %v, id %s (want %s), info %s", created, c2.ID, c1.ID, c2.ConnectionInfo)
		}
		at := time.Now().Add(time.Minute)
		c, err := svc.LiveProgress(ctx, tn.ID, c1.ID, at, 12.3456)
		must(t, err)
		if c.AudioSeconds != 12.346 || !c.LastActivity.Equal(callscope.Timestamp(at)) {
			t.Fatalf("progress: audio %v, last activity %v", c.AudioSeconds, c.LastActivity)
		}
		c, err = svc.LiveProgress(ctx, tn.ID, c1.ID, at, 3)
		must(t, err)
		if c.AudioSeconds != 12.346 {
			t.Fatalf("audio seconds went back to %v", c.AudioSeconds)
		}
		c, err = svc.EndLive(ctx, tn.ID, "u-1", "hangup", false)
		must(t, err)
		if c.Status != callscope.CallCompleted || c.Metadata["end_reason"] != "hangup" || c.ProcessingStatus != callscope.ProcessingNone {
			t.Fatalf("ended: %s, %v, processing %q", c.Status, c.Metadata, c.ProcessingStatus)
		}
		// An ended call keeps its record: progress after the end changes nothing.
		c, err = svc.LiveProgress(ctx, tn.ID, c1.ID, at.Add(time.Hour), 99)
		must(t, err)
		if c.AudioSeconds != 12.346 {
			t.Fatalf("progress after the end: %v", c.AudioSeconds)
		}
	})
}
