// Package analyze runs a tenant's analyzers (seed 003) outside the
// post-call pipeline, as durable jobs: a re-run of every active analyzer on
// one call, and a backfill of one analyzer over past calls with progress,
// cancellation and resumption. Runs are appended, never overwritten, and a
// job that runs again appends nothing twice.
package analyze

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
)

// RunArgs asks for analyzers to run once more on a call, each appending a
// run.
type RunArgs struct {
	TenantID    string   `json:"tenant_id"`
	CallID      string   `json:"call_id"`
	AnalyzerIDs []string `json:"analyzer_ids"`
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "analyzers.run" }

// InsertOpts runs analyzers in the processing queue, whose concurrency
// bounds model calls (MAX_CONCURRENT_PROCESSING).
func (RunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: job.QueueProcessing, MaxAttempts: 8}
}

// BackfillArgs asks for a backfill (callscope.Backfill) to be worked.
type BackfillArgs struct {
	TenantID   string `json:"tenant_id"`
	BackfillID string `json:"backfill_id"`
}

// Kind implements river.JobArgs.
func (BackfillArgs) Kind() string { return "analyzers.backfill" }

// InsertOpts runs backfills in the processing queue.
func (BackfillArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: job.QueueProcessing, MaxAttempts: 10}
}

// Config is what the workers need. Store and Engines are required.
type Config struct {
	Store *sqlstore.Store
	// Engines returns a tenant's engines; their Analyzers runner is used.
	Engines func(t *callscope.Tenant) pipeline.Engines
	// Redact reports whether the tenant's transcripts are redacted before
	// analysis, as the pipeline does (see RedactsLike); nil never redacts.
	Redact func(t *callscope.Tenant) bool
	Logger *slog.Logger
	// PageSize is how many calls a backfill reads at a time (default 50).
	PageSize int
	// Slice bounds one run of a backfill job (default one minute); the job
	// then yields its worker slot and resumes from its cursor at once, so
	// a long backfill neither hits the job timeout nor starves other work.
	Slice time.Duration
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PageSize <= 0 {
		c.PageSize = 50
	}
	if c.Slice <= 0 {
		c.Slice = time.Minute
	}
}

// AddWorkers registers the workers of the analyzers.run and
// analyzers.backfill job kinds.
func AddWorkers(workers *river.Workers, cfg Config) {
	cfg.defaults()
	river.AddWorker(workers, &RunWorker{cfg: cfg})
	river.AddWorker(workers, &BackfillWorker{cfg: cfg})
}

// RedactsLike returns a Redact function that follows the pipeline runner's
// ENABLE_PII_REDACTION switch, per tenant.
func RedactsLike(r *pipeline.Runner) func(t *callscope.Tenant) bool {
	name := pipeline.Switch[pipeline.StageRedact]
	return func(t *callscope.Tenant) bool {
		on, _ := r.Config(t)[name].(bool)
		return on
	}
}

// HasTranscript reports whether segments hold any words to analyse.
func HasTranscript(segs []callscope.Segment) bool {
	for _, s := range segs {
		if strings.TrimSpace(s.Text) != "" {
			return true
		}
	}
	return false
}

// errNoTranscript is a call's permanent reason to be skipped.
var errNoTranscript = errors.New("the call has no transcript")

// input builds what an analyzer reads for a call.
func (c *Config) input(ctx context.Context, t *callscope.Tenant, call *callscope.Call) (pipeline.Input, error) {
	segs, err := c.Store.Segments(ctx, call.ID)
	if err != nil {
		return pipeline.Input{}, err
	}
	if !HasTranscript(segs) {
		return pipeline.Input{}, errNoTranscript
	}
	start := call.CreatedAt
	if call.StartedAt != nil {
		start = *call.StartedAt
	}
	if c.Redact != nil && c.Redact(t) {
		segs, _ = nlp.Redact(segs, nlp.Options{CallStart: start})
	}
	return pipeline.Input{Call: call, Segments: segs, Language: call.Language, Start: start}, nil
}

// runner returns the tenant's analyzer engine, or a permanent error.
func (c *Config) runner(t *callscope.Tenant) (pipeline.AnalyzerRunner, error) {
	if c.Engines != nil {
		if r := c.Engines(t).Analyzers; r != nil {
			return r, nil
		}
	}
	return nil, errors.New("no analyzer engine is configured")
}

// newRun is the run an analyzer's answer becomes.
func newRun(call *callscope.Call, a *callscope.Analyzer, text string, out json.RawMessage) *callscope.AnalyzerRun {
	return &callscope.AnalyzerRun{TenantID: call.TenantID, CallID: call.ID, AnalyzerID: a.ID, AnalyzerName: a.Name,
		AnalyzerVersion: a.Version, AnalysisText: text, Output: out}
}

// retry turns a retryable engine error into the job's answer: snooze for
// the provider's Retry-After, River's backoff otherwise, and give up (nil,
// false) on the last attempt.
func retry(err error, attempt, maxAttempts int) (error, bool) {
	ok, after := pipeline.IsRetryable(err)
	if !ok || attempt >= maxAttempts {
		return nil, false
	}
	if after > 0 {
		return river.JobSnooze(after), true
	}
	return err, true
}
