package job_test

import (
	"context"
	"errors"
	"sync"
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
				if _, err := q.RecordEvent(ctx, tx, c, callscope.EventCallStarted, map[string]string{}); err != nil {
					return err
				}
				return errors.New("abort")
			})
			if err == nil {
				t.Fatal("want the abort error")
			}
			counts, err := s.JobCounts(ctx)
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
			before, err := s.JobCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := 0; i < 40; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					s.InTx(ctx, func(tx *sqlstore.Tx) error {
						c := &callscope.Call{TenantID: tn.ID}
						if err := tx.CreateCall(ctx, c); err != nil {
							return err
						}
						if _, err := q.RecordEvent(ctx, tx, c, callscope.EventCallStarted, nil); err != nil {
							return err
						}
						if i%2 == 1 {
							return errors.New("abort")
						}
						return nil
					})
				}(i)
			}
			wg.Wait()
			after, err := s.JobCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// One dispatch job per commit: at most one per committed
			// transaction, at least one.
			if got := after["available"] - before["available"]; got < 1 || got > 20 {
				t.Fatalf("jobs inserted = %d, want 1 to 20", got)
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
				ev, err = q.RecordEvent(ctx, tx, c, callscope.EventCallStarted, map[string]string{"from": "+254700000001"})
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
			deadline := time.Now().Add(15 * time.Second)
			for {
				n, err := s.UndispatchedEvents(ctx, tn.ID)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d events never dispatched", n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			select {
			case got := <-done:
				if got != "events.dispatch:completed" {
					t.Fatalf("job done = %s", got)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no job outcome reported")
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
