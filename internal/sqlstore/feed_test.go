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
