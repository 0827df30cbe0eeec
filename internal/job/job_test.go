package job_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

func TestRecordEvent(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if err := job.Migrate(ctx, s); err != nil {
			t.Fatal(err)
		}
		workers := river.NewWorkers()
		river.AddWorker(workers, &job.DispatchEventWorker{Store: s})
		river.AddWorker(workers, noopWorker{})
		done := make(chan string, 100)
		q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond,
			OnJobDone: func(kind, outcome string, _ time.Duration) { done <- kind + ":" + outcome }})
		if err != nil {
			t.Fatal(err)
		}
		tn := sqlstoretest.MustTenant(t, s)

		t.Run("RolledBackChangeEnqueuesNothing", func(t *testing.T) {
			err := s.InTx(ctx, func(tx *sqlstore.Tx) error {
				c := &callscope.Call{TenantID: tn.ID}
				if err := tx.CreateCall(ctx, c); err != nil {
					return err
				}
				if _, err := q.RecordEvent(ctx, tx, c, callscope.CallStartedData{CallRefData: callscope.RefOf(c)}); err != nil {
					return err
				}
				return errors.New("abort")
			})
			if err == nil {
				t.Fatal("want the abort error")
			}
			counts, err := job.JobCounts(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if counts["available"] != 0 {
				t.Fatalf("jobs after rollback = %v", counts)
			}
		})

		t.Run("JobsFollowTheirTransaction", func(t *testing.T) {
			// Many transactions at once (sharing commits on SQLite): the
			// jobs of the ones that fail are not inserted.
			before, err := job.JobCounts(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			inTxs(s, tn.ID, 40, func(i int, tx *sqlstore.Tx, c *callscope.Call) error {
				if _, err := q.RecordEvent(ctx, tx, c, callscope.CallStartedData{CallRefData: callscope.RefOf(c)}); err != nil {
					return err
				}
				q.Enqueue(tx, noopArgs{N: i}, nil)
				if i%2 == 1 {
					return errors.New("abort")
				}
				return nil
			})
			after, err := job.JobCounts(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if got := after["available"] - before["available"]; got != 20 {
				t.Fatalf("jobs inserted = %d, want 20", got)
			}
			if n, _ := s.UndispatchedEvents(ctx, tn.ID); n != 20 {
				t.Fatalf("events = %d, want 20", n)
			}
		})

		t.Run("CommittedChangeIsDispatched", func(t *testing.T) {
			var ev *callscope.Event
			err := s.InTx(ctx, func(tx *sqlstore.Tx) error {
				c := &callscope.Call{TenantID: tn.ID}
				if err := tx.CreateCall(ctx, c); err != nil {
					return err
				}
				var err error
				ev, err = q.RecordEvent(ctx, tx, c, callscope.CallStartedData{CallRefData: callscope.RefOf(c), Status: callscope.CallInProgress})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := s.UndispatchedEvents(ctx, tn.ID); n != 21 {
				t.Fatalf("undispatched before start = %d", n)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer q.Stop(ctx)
			waitDispatched(t, s, tn.ID)
			select {
			case got := <-done:
				if got != "test.noop:completed" {
					t.Fatalf("job done = %s", got)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no job outcome reported")
			}
			// Events need no job of their own.
			if kinds, err := job.JobKinds(ctx, s); err != nil || kinds["events.dispatch"] != 0 {
				t.Fatalf("job kinds = %v, %v", kinds, err)
			}
			if n, _ := s.UndispatchedEvents(ctx, tn.ID); n != 0 {
				t.Fatalf("undispatched after run = %d (event %s)", n, ev.ID)
			}
			if err := q.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if err := q.Stop(ctx); err != nil {
				t.Fatalf("second stop: %v", err)
			}
		})
	})
}

type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "test.noop" }

type noopWorker struct{ river.WorkerDefaults[noopArgs] }

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// countingChannel records the events handed to it.
type countingChannel struct{ got []string }

func (c *countingChannel) Dispatch(_ context.Context, _ *sqlstore.Tx, e *callscope.Event) error {
	c.got = append(c.got, e.Type)
	return nil
}

// TestStoredDispatchJobs checks that dispatch jobs stored by earlier
// versions still hand their events out, once.
func TestStoredDispatchJobs(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		tn := sqlstoretest.MustTenant(t, s)
		c := &callscope.Call{TenantID: tn.ID}
		if err := s.CreateCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, typ := range []string{callscope.EventCallStarted, callscope.EventCallCompleted} {
			e := &callscope.Event{TenantID: tn.ID, CallID: c.ID, Type: typ}
			if err := s.CreateEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		ch := &countingChannel{}
		w := &job.DispatchEventWorker{Store: s, Channels: []job.Channel{ch}}
		for i := 0; i < 2; i++ {
			if err := w.Work(ctx, &river.Job[job.DispatchEventsArgs]{Args: job.DispatchEventsArgs{EventIDs: ids}}); err != nil {
				t.Fatal(err)
			}
		}
		if len(ch.got) != 2 || ch.got[0] != callscope.EventCallStarted || ch.got[1] != callscope.EventCallCompleted {
			t.Fatalf("dispatched %v", ch.got)
		}
	})
}

// TestDispatcherHandsEventsOnce records events from many transactions while
// the queue runs, and checks every committed event reaches the channel
// exactly once, in order per call.
func TestDispatcherHandsEventsOnce(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		q := newTestQueue(t, s)
		var mu sync.Mutex
		seen := map[string][]string{}
		q.DispatchTo(channelFunc(func(e *callscope.Event) {
			mu.Lock()
			seen[e.CallID] = append(seen[e.CallID], e.Type)
			mu.Unlock()
		}))
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		tn := sqlstoretest.MustTenant(t, s)
		inTxs(s, tn.ID, 30, func(i int, tx *sqlstore.Tx, c *callscope.Call) error {
			if _, err := q.RecordEvents(ctx, tx, c, callscope.CallStartedData{},
				callscope.CallEndedData{Status: callscope.CallCompleted}); err != nil {
				return err
			}
			if i%3 == 0 {
				return errors.New("abort")
			}
			return nil
		})
		waitDispatched(t, s, tn.ID)
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 20 {
			t.Fatalf("events of %d calls dispatched, want 20", len(seen))
		}
		for call, types := range seen {
			if len(types) != 2 || types[0] != callscope.EventCallStarted || types[1] != callscope.EventCallCompleted {
				t.Fatalf("call %s: %v", call, types)
			}
		}
	})
}

type channelFunc func(*callscope.Event)

func (f channelFunc) Dispatch(_ context.Context, _ *sqlstore.Tx, e *callscope.Event) error {
	f(e)
	return nil
}

// waitDispatched waits until every event of the tenant is dispatched.
func waitDispatched(t *testing.T, s *sqlstore.Store, tenantID string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := s.UndispatchedEvents(context.Background(), tenantID)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events never dispatched", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inTxs runs n transactions at once (sharing commits on SQLite), each
// creating a call of the tenant and then running fn, whose error rolls it
// back.
func inTxs(s *sqlstore.Store, tenantID string, n int, fn func(i int, tx *sqlstore.Tx, c *callscope.Call) error) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.InTx(context.Background(), func(tx *sqlstore.Tx) error {
				c := &callscope.Call{TenantID: tenantID}
				if err := tx.CreateCall(context.Background(), c); err != nil {
					return err
				}
				return fn(i, tx, c)
			})
		}()
	}
	wg.Wait()
}

// TestDispatcherGoesAroundAPoisonEvent checks that an event a channel
// always refuses does not hold up the others.
func TestDispatcherGoesAroundAPoisonEvent(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		q := newTestQueue(t, s)
		var mu sync.Mutex
		var got []string
		var refusing atomic.Bool
		refusing.Store(true)
		q.DispatchTo(failingChannel{refuse: callscope.EventCallFailed, refusing: &refusing, took: func(e *callscope.Event) {
			mu.Lock()
			got = append(got, e.Type)
			mu.Unlock()
		}})
		tn := sqlstoretest.MustTenant(t, s)
		inTxs(s, tn.ID, 1, func(_ int, tx *sqlstore.Tx, c *callscope.Call) error {
			_, err := q.RecordEvents(ctx, tx, c, callscope.CallStartedData{},
				callscope.CallEndedData{Status: callscope.CallFailed}, callscope.CallEndedData{Status: callscope.CallCompleted})
			return err
		})
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := s.UndispatchedEvents(ctx, tn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d events waiting, want only the refused one", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		if len(got) != 2 || got[0] != callscope.EventCallStarted || got[1] != callscope.EventCallCompleted {
			t.Fatalf("dispatched %v", got)
		}
		mu.Unlock()
		// Later events pass the held one; once the channel takes it, it
		// goes too.
		inTxs(s, tn.ID, 1, func(_ int, tx *sqlstore.Tx, c *callscope.Call) error {
			_, err := q.RecordEvent(ctx, tx, c, callscope.CallStartedData{CallRefData: callscope.RefOf(c)})
			return err
		})
		refusing.Store(false)
		waitDispatched(t, s, tn.ID)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 4 {
			t.Fatalf("dispatched %v", got)
		}
	})
}

// failingChannel refuses every event of one type and reports the others
// it took.
type failingChannel struct {
	refuse   string
	refusing *atomic.Bool
	took     func(*callscope.Event)
}

func (c failingChannel) Dispatch(_ context.Context, tx *sqlstore.Tx, e *callscope.Event) error {
	if e.Type == c.refuse && c.refusing.Load() {
		return errors.New("refused")
	}
	// Counted only if the dispatch commits, as a channel's deliveries are.
	tx.AfterCommit(func() { c.took(e) })
	return nil
}

// newTestQueue returns a queue, not started, on a migrated store, that
// works test.noop jobs and polls every 20 ms.
func newTestQueue(t *testing.T, s *sqlstore.Store) *job.Queue {
	t.Helper()
	if err := job.Migrate(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestStopRightAfterStart stops queues the moment they have started, when
// the dispatcher may not have begun yet: Stop must not wait on it forever.
func TestStopRightAfterStart(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstore.SQLite)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			q := newTestQueue(t, s)
			q.DispatchTo(channelFunc(func(*callscope.Event) {}))
			if err := q.Start(context.Background()); err != nil {
				t.Error(err)
				return
			}
			if err := q.Stop(context.Background()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("a queue stopped right after starting never finished stopping")
	}
}
