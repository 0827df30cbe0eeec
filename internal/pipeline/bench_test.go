package pipeline_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// fiveMinutes is a five-minute support call: 80 turns of realistic text.
func fiveMinutes() []callscope.Segment {
	lines := []string{
		"Good afternoon, Acme Energy, this is Brian speaking, how may I help you today?",
		"Hi Brian, I was charged twice for my electricity token this morning, two thousand shillings each time.",
		"I am sorry about that. Can I have your meter number and the phone number you paid with please?",
		"The meter is 0412 3344 5566 and I paid from 0712 345 678 at around nine.",
		"Thank you. I can see both payments on the account. Let me check why the second token was not issued.",
		"Okay, I also need a receipt for my landlord, he lives in Kilimani and wants proof every month.",
		"I will refund the second payment within three days and send you a confirmation by email.",
		"Great, my email is jane.wambui@example.com. Please also call me back tomorrow if there is a problem.",
	}
	var segs []callscope.Segment
	t := 0.0
	for i := 0; i < 80; i++ {
		speaker := "agent"
		if i%2 == 1 {
			speaker = "caller"
		}
		segs = append(segs, callscope.Segment{SegmentID: i + 1, Speaker: speaker, StartTime: t, EndTime: t + 3.4, Text: lines[i%len(lines)], Confidence: 0.9})
		t += 3.75
	}
	return segs
}

func benchCalls(b *testing.B, s *sqlstore.Store, n int) (*callscope.Tenant, []string) {
	ctx := context.Background()
	tn := sqlstoretest.MustTenant(b, s)
	segs := fiveMinutes()
	ids := make([]string, n)
	for i := range ids {
		c := &callscope.Call{TenantID: tn.ID}
		if err := s.CreateCall(ctx, c); err != nil {
			b.Fatal(err)
		}
		if err := s.PutSegments(ctx, c.ID, segs); err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	return tn, ids
}

// BenchmarkBuiltinPipeline runs the whole pipeline with the built-in
// engines on five-minute transcripts, two calls at a time (2 cores), on
// SQLite, every stage's output and record committed. Reports calls/s.
func BenchmarkBuiltinPipeline(b *testing.B) {
	s := sqlstoretest.Open(b, sqlstore.SQLite)
	tn, ids := benchCalls(b, s, b.N)
	r := &pipeline.Runner{Store: s, Engines: (&pipeline.BuiltinEngines{}).For, Switches: config.Switches}
	r.Engines(tn) // build the tenant's engines before timing
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)-1]
			if err := r.Run(context.Background(), tn.ID, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// instant engines answer at once: what remains is the pipeline's own cost.
type instant struct{}

func (instant) Entities(context.Context, pipeline.Input) ([]nlp.Entity, pipeline.Usage, error) {
	return []nlp.Entity{{Type: "person", Text: "Brian"}}, pipeline.Usage{}, nil
}
func (instant) Classify(context.Context, pipeline.Input) (nlp.Classification, pipeline.Usage, error) {
	return nlp.Classification{Category: "billing"}, pipeline.Usage{}, nil
}
func (instant) Summarize(context.Context, pipeline.Input) (nlp.Summary, pipeline.Usage, error) {
	return nlp.Summary{Text: "Refund agreed."}, pipeline.Usage{}, nil
}
func (instant) ScoreQA(context.Context, pipeline.Input) (nlp.QAResult, pipeline.Usage, error) {
	return nlp.QAResult{Score: 80}, pipeline.Usage{}, nil
}
func (instant) Todos(context.Context, pipeline.Input) ([]nlp.Todo, pipeline.Usage, error) {
	return []nlp.Todo{{Text: "refund"}}, pipeline.Usage{}, nil
}
func (instant) Translate(context.Context, pipeline.Input, string) (pipeline.Translation, pipeline.Usage, error) {
	return pipeline.Translation{Text: "x", Language: "en"}, pipeline.Usage{}, nil
}

// BenchmarkPipelineOverhead runs the pipeline with engines that answer at
// once, one call at a time: the time per call is the pipeline's overhead
// beyond model calls (loading the call, 13 stage commits, the finish).
func BenchmarkPipelineOverhead(b *testing.B) {
	s := sqlstoretest.Open(b, sqlstore.SQLite)
	tn, ids := benchCalls(b, s, b.N)
	in := instant{}
	r := &pipeline.Runner{Store: s, Switches: config.Switches, Engines: func(*callscope.Tenant) pipeline.Engines {
		return pipeline.Engines{Translator: in, Entities: in, Classifier: in, Summarizer: in, QA: in, Todos: in}
	}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Run(context.Background(), tn.ID, ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/call")
}

var _ = fmt.Sprint
