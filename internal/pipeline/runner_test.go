package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

var segments = []callscope.Segment{
	{SegmentID: 1, Speaker: "agent", StartTime: 0.5, EndTime: 4, Text: "Good morning, Acme support, this is Brian. How can I help?"},
	{SegmentID: 2, Speaker: "caller", StartTime: 4.5, EndTime: 10, Text: "Hi, I was charged twice for my internet bill this month, two thousand shillings each time."},
	{SegmentID: 3, Speaker: "agent", StartTime: 10.5, EndTime: 15, Text: "Sorry about that. I will refund the second payment and send you a confirmation by email."},
	{SegmentID: 4, Speaker: "caller", StartTime: 15.5, EndTime: 18, Text: "Great, my email is jane.doe@example.com. Thank you."},
}

// counting wraps the built-in engines and counts calls per stage; block,
// when set, makes the summarizer wait until its context ends.
type counting struct {
	pipeline.Builtin
	mu      sync.Mutex
	calls   map[string]int
	block   atomic.Bool
	blocked chan struct{}
}

func (c *counting) count(stage string) {
	c.mu.Lock()
	c.calls[stage]++
	c.mu.Unlock()
}

func (c *counting) Entities(ctx context.Context, in pipeline.Input) ([]nlp.Entity, pipeline.Usage, error) {
	c.count("entities")
	return c.Builtin.Entities(ctx, in)
}

func (c *counting) Classify(ctx context.Context, in pipeline.Input) (nlp.Classification, pipeline.Usage, error) {
	c.count("classify")
	return c.Builtin.Classify(ctx, in)
}

func (c *counting) Summarize(ctx context.Context, in pipeline.Input) (nlp.Summary, pipeline.Usage, error) {
	c.count("summarize")
	if c.block.Load() {
		close(c.blocked)
		<-ctx.Done()
		return nlp.Summary{}, pipeline.Usage{}, ctx.Err()
	}
	return c.Builtin.Summarize(ctx, in)
}

func (c *counting) Todos(ctx context.Context, in pipeline.Input) ([]nlp.Todo, pipeline.Usage, error) {
	c.count("todos")
	return c.Builtin.Todos(ctx, in)
}

func startQueue(t *testing.T, s *sqlstore.Store, eng *counting) *job.Queue {
	t.Helper()
	workers := river.NewWorkers()
	var q *job.Queue
	runner := &pipeline.Runner{Store: s, Switches: config.Switches,
		Engines: func(*callscope.Tenant) pipeline.Engines {
			return pipeline.Engines{Entities: eng, Classifier: eng, Summarizer: eng, QA: eng, Todos: eng, Analyzers: eng}
		},
		Events: func(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, data callscope.EventData) error {
			_, err := q.RecordEvent(ctx, tx, c, data)
			return err
		}}
	river.AddWorker(workers, &pipeline.Worker{Runner: runner, Limit: time.Minute})
	river.AddWorker(workers, &job.DispatchEventWorker{Store: s})
	var err error
	q, err = job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return q
}

// TestResumeAfterStop stops the workers while the summarize stage runs and
// starts new ones: the call completes, the stages finished before the stop
// are not run again, and no stage output is recorded twice.
func TestResumeAfterStop(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if err := job.Migrate(ctx, s); err != nil {
			t.Fatal(err)
		}
		tn := sqlstoretest.MustTenant(t, s)
		c := &callscope.Call{TenantID: tn.ID}
		if err := s.CreateCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSegments(ctx, c.ID, segments); err != nil {
			t.Fatal(err)
		}
		eng := &counting{Builtin: pipeline.Builtin{E: nlp.Default()}, calls: map[string]int{}, blocked: make(chan struct{})}
		eng.block.Store(true)
		q1 := startQueue(t, s, eng)
		err := s.InTx(ctx, func(tx *sqlstore.Tx) error {
			ok, _, err := tx.RequestProcessing(ctx, tn.ID, c.ID, false, pipeline.Stages)
			if err != nil || !ok {
				t.Fatalf("request processing: %v %v", ok, err)
			}
			q1.Enqueue(tx, pipeline.ProcessCallArgs{TenantID: tn.ID, CallID: c.ID}, nil)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-eng.blocked:
		case <-time.After(15 * time.Second):
			t.Fatal("the summarize stage never started")
		}
		// Stop: the running job is cancelled and goes back to the queue.
		stopCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		q1.Stop(stopCtx)
		cancel()
		p, err := s.Processing(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != callscope.ProcessingInProgress || !slices.Contains(p.StagesCompleted, "classify") || slices.Contains(p.StagesCompleted, "summarize") {
			t.Fatalf("after the stop: %s %v", p.Status, p.StagesCompleted)
		}

		eng.block.Store(false)
		q2 := startQueue(t, s, eng)
		defer q2.Stop(ctx)
		deadline := time.Now().Add(30 * time.Second)
		for {
			p, err = s.Processing(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status == callscope.ProcessingCompleted {
				break
			}
			if p.Status == callscope.ProcessingFailed || time.Now().After(deadline) {
				t.Fatalf("processing = %s %v", p.Status, p.Errors)
			}
			time.Sleep(20 * time.Millisecond)
		}
		eng.mu.Lock()
		calls := eng.calls
		eng.mu.Unlock()
		if calls["entities"] != 1 || calls["classify"] != 1 || calls["summarize"] != 2 || calls["todos"] != 1 {
			t.Fatalf("engine calls = %v: finished stages ran again", calls)
		}
		seen := map[string]bool{}
		for _, st := range p.StagesCompleted {
			if seen[st] {
				t.Fatalf("stage %s recorded twice: %v", st, p.StagesCompleted)
			}
			seen[st] = true
		}
		if len(p.StagesCompleted) != len(pipeline.Stages) || len(p.Stages) != len(pipeline.Stages) || p.Attempts != 2 {
			t.Fatalf("completed %v, %d stage records, %d attempts", p.StagesCompleted, len(p.Stages), p.Attempts)
		}
		got, err := s.Call(ctx, tn.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Summary) == 0 || got.ProcessingStatus != callscope.ProcessingCompleted {
			t.Fatalf("call after resume: summary %s, status %s", got.Summary, got.ProcessingStatus)
		}
		// The deliver stage says what it did, and did it: analysis.completed
		// is in the outbox once.
		last := p.Stages[len(p.Stages)-1]
		if last.Stage != pipeline.StageDeliver || last.Status != pipeline.StatusCompleted || !strings.Contains(last.Reason, "analysis.completed recorded") {
			t.Fatalf("deliver stage = %+v", last)
		}
		events, err := s.Events(ctx, tn.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range events {
			if ev.Type == callscope.EventAnalysisCompleted {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d analysis.completed events, want 1", n)
		}
	})
}

// TestDiscardedProcessingFails: a processing job discarded because the
// process running its last attempt died (job.Config.Discarded) leaves the
// call's processing failed, saying why, not in progress for ever.
func TestDiscardedProcessingFails(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if err := job.Migrate(ctx, s); err != nil {
			t.Fatal(err)
		}
		tn := sqlstoretest.MustTenant(t, s)
		c := &callscope.Call{TenantID: tn.ID}
		if err := s.CreateCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		err := s.InTx(ctx, func(tx *sqlstore.Tx) error {
			_, _, err := tx.RequestProcessing(ctx, tn.ID, c.ID, false, pipeline.Stages)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		eng := &counting{Builtin: pipeline.Builtin{E: nlp.Default()}, calls: map[string]int{}}
		q := startQueue(t, s, eng)
		defer q.Stop(ctx)
		runner := &pipeline.Runner{Store: s, Switches: config.Switches,
			Events: func(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, data callscope.EventData) error {
				_, err := q.RecordEvent(ctx, tx, c, data)
				return err
			}}
		w := &pipeline.Worker{Runner: runner}
		w.Discarded(ctx, []byte(`{"tenant_id":"`+tn.ID+`","call_id":"`+c.ID+`"}`))
		p, err := s.Processing(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != callscope.ProcessingFailed || !strings.Contains(fmt.Sprint(p.Errors), "stopped") {
			t.Fatalf("processing after the discard: %s %v", p.Status, p.Errors)
		}
	})
}
