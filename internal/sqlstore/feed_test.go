package sqlstore_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// testFeed: events and feed items share one feed, in id order, scoped to a
// tenant and a call, and old items are pruned.
func testFeed(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	other := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	c2 := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c2))
	start, err := s.FeedOf(ctx, tn.ID, "", "", 1000)
	must(t, err)
	ev := &callscope.Event{TenantID: tn.ID, CallID: c.ID, Type: callscope.EventCallStarted, Data: json.RawMessage(`{"status":"in_progress"}`)}
	must(t, s.CreateEvent(ctx, ev))
	seg := &callscope.Event{TenantID: tn.ID, CallID: c.ID, Type: callscope.FeedSegment, Data: json.RawMessage(`{"segments":[{"text":"hello"}]}`)}
	snap := &callscope.Event{TenantID: tn.ID, CallID: c2.ID, Type: callscope.FeedSnapshot}
	must(t, s.AppendFeed(ctx, []*callscope.Event{seg, snap}))
	must(t, s.AppendFeed(ctx, []*callscope.Event{{TenantID: other.ID, CallID: "x", Type: callscope.FeedSegment}}))
	if !(ev.ID < seg.ID && seg.ID < snap.ID) {
		t.Fatalf("ids do not rise in order: %s %s %s", ev.ID, seg.ID, snap.ID)
	}

	all, err := s.FeedOf(ctx, tn.ID, "", "", 1000)
	must(t, err)
	all = all[len(start):]
	if len(all) != 3 || all[0].ID != ev.ID || all[1].ID != seg.ID || all[2].ID != snap.ID {
		t.Fatalf("tenant feed = %+v", all)
	}
	if all[0].Type != callscope.EventCallStarted || !jsonEqual(all[1].Data, seg.Data) {
		t.Fatalf("feed items read back wrong: %+v", all[:2])
	}
	one, err := s.FeedOf(ctx, tn.ID, c.ID, "", 1000)
	must(t, err)
	if len(one) != 2 || one[1].ID != seg.ID {
		t.Fatalf("call feed = %+v", one)
	}
	after, err := s.FeedOf(ctx, tn.ID, c.ID, ev.ID, 1000)
	must(t, err)
	if len(after) != 1 || after[0].ID != seg.ID {
		t.Fatalf("call feed after %s = %+v", ev.ID, after)
	}
	// Another tenant's call is not in this tenant's feed, even by id.
	if got, err := s.FeedOf(ctx, other.ID, c.ID, "", 1000); err != nil || len(got) != 0 {
		t.Fatalf("other tenant sees %d items (%v)", len(got), err)
	}
	global, err := s.FeedAfter(ctx, ev.ID, 2)
	must(t, err)
	if len(global) != 2 || global[0].ID != seg.ID || global[1].ID != snap.ID {
		t.Fatalf("FeedAfter = %+v", global)
	}

	n, err := s.PruneFeed(ctx, time.Now().Add(-time.Hour))
	must(t, err)
	if left, _ := s.FeedOf(ctx, tn.ID, "", "", 1000); len(left) != len(start)+3 {
		t.Fatalf("pruning an hour back removed this test's items (%d removed)", n)
	}
	_, err = s.PruneFeed(ctx, time.Now().Add(time.Hour))
	must(t, err)
	if left, _ := s.FeedOf(ctx, tn.ID, "", "", 1000); len(left) != 0 {
		t.Fatalf("after pruning everything, %d items left", len(left))
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// testLiveProgress: live calls' progress is stored in one go, never lowers
// the audio seconds, leaves a call that is over as it is, and reports each
// call's status (none for a call that is gone).
func testLiveProgress(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	live, over := newCall(tn.ID), newCall(tn.ID)
	live.Status, over.Status = callscope.CallInProgress, callscope.CallCompleted
	must(t, s.CreateCall(ctx, live))
	must(t, s.CreateCall(ctx, over))
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := s.LiveProgress(ctx, []sqlstore.LiveTick{{CallID: live.ID, At: at, AudioSeconds: 12.5},
		{CallID: over.ID, At: at, AudioSeconds: 99}, {CallID: "gone", At: at, AudioSeconds: 1}})
	must(t, err)
	if got[live.ID] != callscope.CallInProgress || got[over.ID] != callscope.CallCompleted || len(got) != 2 {
		t.Fatalf("statuses = %v", got)
	}
	_, err = s.LiveProgress(ctx, []sqlstore.LiveTick{{CallID: live.ID, At: at.Add(time.Second), AudioSeconds: 3}})
	must(t, err)
	c, err := s.Call(ctx, tn.ID, live.ID)
	must(t, err)
	if c.AudioSeconds != 12.5 || c.LastActivity == nil || !c.LastActivity.Equal(at.Add(time.Second)) || c.Version <= live.Version {
		t.Fatalf("live call after progress: audio %v, last activity %v, version %d (was %d)", c.AudioSeconds, c.LastActivity, c.Version, live.Version)
	}
	o, err := s.Call(ctx, tn.ID, over.ID)
	must(t, err)
	if o.AudioSeconds != 0 || o.Version != over.Version {
		t.Fatalf("a call that is over was changed: %+v", o)
	}
}
