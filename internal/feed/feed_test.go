package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/feed"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

func item(tenantID, callID, text string) *callscope.Event {
	d, _ := json.Marshal(map[string]string{"text": text})
	return &callscope.Event{TenantID: tenantID, CallID: callID, Type: callscope.FeedSegment, Data: d}
}

func text(e *callscope.Event) string {
	var d struct{ Text string }
	_ = json.Unmarshal(e.Data, &d)
	return d.Text
}

func startHub(t *testing.T, s *sqlstore.Store, buffer int) *feed.Hub {
	t.Helper()
	h := &feed.Hub{Source: s, Poll: 10 * time.Millisecond, Buffer: buffer}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(30 * time.Millisecond) // the hub has set its cursor
	return h
}

// next reads one item within a few seconds.
func next(t *testing.T, sub *feed.Subscription) *callscope.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return e
}

// none checks nothing more arrives for a while.
func none(t *testing.T, sub *feed.Subscription) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if e, err := sub.Next(ctx); err == nil {
		t.Fatalf("unexpected item %s %q", e.ID, text(e))
	}
}

func TestHub(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		tn := sqlstoretest.MustTenant(t, s)
		other := sqlstoretest.MustTenant(t, s)

		t.Run("TwoReplicasSeeEveryWrite", func(t *testing.T) {
			// Two hubs on one database stand for two replicas: an item
			// written anywhere reaches the subscribers of both, once.
			a, b := startHub(t, s, 0), startHub(t, s, 0)
			subA := a.Subscribe(tn.ID, "", "", false)
			defer subA.Close()
			subB := b.Subscribe(tn.ID, "call-1", "", false)
			defer subB.Close()
			must(t, s.AppendFeed(ctx, []*callscope.Event{item(tn.ID, "call-1", "one"), item(other.ID, "call-9", "theirs")}))
			must(t, s.AppendFeed(ctx, []*callscope.Event{item(tn.ID, "call-2", "two")}))
			if got := text(next(t, subA)); got != "one" {
				t.Fatalf("A got %q first", got)
			}
			if got := text(next(t, subA)); got != "two" {
				t.Fatalf("A got %q second", got)
			}
			if got := text(next(t, subB)); got != "one" {
				t.Fatalf("B got %q", got)
			}
			none(t, subA)
			none(t, subB) // call-2 and the other tenant's item are not B's
		})

		t.Run("ResumeAfterLastID", func(t *testing.T) {
			h := startHub(t, s, 0)
			items := []*callscope.Event{item(tn.ID, "call-r", "r1"), item(tn.ID, "call-r", "r2"), item(tn.ID, "call-r", "r3")}
			must(t, s.AppendFeed(ctx, items))
			sub := h.Subscribe(tn.ID, "call-r", items[0].ID, false)
			defer sub.Close()
			must(t, s.AppendFeed(ctx, []*callscope.Event{item(tn.ID, "call-r", "r4")}))
			var got []string
			for range 3 {
				got = append(got, text(next(t, sub)))
			}
			if fmt.Sprint(got) != "[r2 r3 r4]" {
				t.Fatalf("resumed after r1: %v", got)
			}
			none(t, sub) // r4 came live and in the replay: once

			whole := h.Subscribe(tn.ID, "call-r", "", true)
			defer whole.Close()
			if got := text(next(t, whole)); got != "r1" {
				t.Fatalf("replay starts with %q", got)
			}
		})

		t.Run("SlowSubscriberDropped", func(t *testing.T) {
			h := startHub(t, s, 3)
			slow := h.Subscribe(tn.ID, "", "", false)
			defer slow.Close()
			fast := h.Subscribe(tn.ID, "", "", false)
			defer fast.Close()
			var batch []*callscope.Event
			for i := range 10 {
				batch = append(batch, item(tn.ID, "call-s", fmt.Sprint("s", i)))
			}
			// The fast one reads each item before the next is written (so
			// however the hub's polls batch them, it is never behind); the
			// slow one never reads.
			var got []string
			for _, e := range batch {
				must(t, s.AppendFeed(ctx, []*callscope.Event{e}))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				e, err := fast.Next(ctx)
				cancel()
				if err != nil {
					t.Fatalf("the reading subscriber, after %v: %v", got, err)
				}
				got = append(got, text(e))
			}
			if len(got) != 10 {
				t.Fatalf("the reading subscriber got %d of 10 items (%v)", len(got), got)
			}
			var err error
			for range 4 {
				if _, err = slow.Next(context.Background()); err != nil {
					break
				}
			}
			if !errors.Is(err, feed.ErrDropped) {
				t.Fatalf("slow subscriber: %v, want ErrDropped", err)
			}
		})

		if s.Dialect() != sqlstore.Postgres {
			return
		}
		t.Run("LateCommitDelivered", func(t *testing.T) {
			// A transaction that commits after a later-born item was
			// handed out: its item is delivered still, by the settle pass.
			h := startHub(t, s, 0)
			sub := h.Subscribe(tn.ID, "call-l", "", false)
			defer sub.Close()
			hold, release := make(chan struct{}), make(chan struct{})
			errc := make(chan error, 1)
			go func() {
				errc <- s.InTx(ctx, func(tx *sqlstore.Tx) error {
					if err := tx.AppendFeed(ctx, []*callscope.Event{item(tn.ID, "call-l", "early")}); err != nil {
						return err
					}
					close(hold)
					<-release
					return nil
				})
			}()
			<-hold
			must(t, s.AppendFeed(ctx, []*callscope.Event{item(tn.ID, "call-l", "late")}))
			if got := text(next(t, sub)); got != "late" {
				t.Fatalf("got %q", got)
			}
			close(release)
			must(t, <-errc)
			if got := text(next(t, sub)); got != "early" {
				t.Fatalf("the late commit's item: got %q", got)
			}
			none(t, sub)
		})
	})
}

func TestIDAt(t *testing.T) {
	at := time.Now()
	id := "evt_" + callscope.NewID()
	if lo, hi := feed.IDAt(at.Add(-time.Second)), feed.IDAt(at.Add(time.Second)); !(lo < id && id < hi) {
		t.Fatalf("%s not between %s and %s", id, lo, hi)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
