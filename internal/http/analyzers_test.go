package http_test

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/analyze"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// consoleTranscript is a call with enough words for every built-in rule.
var consoleTranscript = []callscope.Segment{
	{SegmentID: 1, Speaker: "agent", StartTime: 0, EndTime: 3, Text: "Thank you for calling, how can I help?"},
	{SegmentID: 2, Speaker: "caller", StartTime: 3, EndTime: 8, Text: "I want a refund for my order, please."},
	{SegmentID: 3, Speaker: "agent", StartTime: 8, EndTime: 12, Text: "I will send you the refund form tomorrow."},
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second) // a retry waits for River to elect a leader and promote the job
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r response) list(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("answer is not a JSON array of objects: %v: %s", err, r.Body)
	}
	return out
}

// wantExactKeys fails unless m has exactly the keys given.
func wantExactKeys(t testing.TB, what string, m map[string]any, keys ...string) {
	t.Helper()
	sort.Strings(keys)
	if got := keysOf(m); !reflect.DeepEqual(got, keys) {
		t.Fatalf("%s has keys %v, want %v", what, got, keys)
	}
}

func createAnalyzer(t *testing.T, e *env, body map[string]any) map[string]any {
	t.Helper()
	r := e.do("POST", "/api/analyzers", e.key, body)
	wantStatus(t, r, 201)
	return r.json(t)
}

func runsOf(t *testing.T, e *env, callID string) []*callscope.AnalyzerRun {
	t.Helper()
	runs, err := e.store.AnalyzerRuns(context.Background(), callID)
	must(t, err)
	return runs
}

func TestAnalyzersCRUD(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			a := createAnalyzer(t, e, map[string]any{"name": " Refunds ", "kind": "builtin", "prompt": "keywords: refund, cancel"})
			wantExactKeys(t, "Analyzer", a, "id", "name", "kind", "prompt", "output_schema", "active", "version", "created_at", "updated_at")
			if a["name"] != "Refunds" || a["active"] != true || a["version"] != float64(1) || a["output_schema"] != nil {
				t.Fatalf("created = %v", a)
			}
			id := a["id"].(string)
			schema := map[string]any{"type": "object", "properties": map[string]any{"issues": map[string]any{"type": "array"}},
				"required": []any{"issues"}}
			llm := createAnalyzer(t, e, map[string]any{"name": "Compliance", "kind": "llm", "prompt": "List compliance issues.",
				"output_schema": schema, "active": false})
			if llm["active"] != false || !reflect.DeepEqual(llm["output_schema"], schema) {
				t.Fatalf("llm analyzer = %v", llm)
			}

			r := e.do("GET", "/api/analyzers", e.key, nil)
			wantStatus(t, r, 200)
			if l := r.list(t); len(l) != 2 || l[0]["name"] != "Compliance" || l[1]["name"] != "Refunds" {
				t.Fatalf("list = %s", r.Body)
			}
			r = e.do("GET", "/api/analyzers?active=true", e.key, nil)
			wantStatus(t, r, 200)
			if l := r.list(t); len(l) != 1 || l[0]["id"] != id {
				t.Fatalf("active list = %s", r.Body)
			}
			r = e.do("GET", "/api/analyzers/"+id, e.key, nil)
			wantStatus(t, r, 200)
			if r.json(t)["prompt"] != "keywords: refund, cancel" {
				t.Fatalf("get = %s", r.Body)
			}

			t.Run("UpdateRaisesVersion", func(t *testing.T) {
				r := e.do("PATCH", "/api/analyzers/"+id, e.key, map[string]any{"prompt": "summary"})
				wantStatus(t, r, 200)
				if m := r.json(t); m["version"] != float64(2) || m["prompt"] != "summary" || m["name"] != "Refunds" {
					t.Fatalf("patched = %s", r.Body)
				}
				r = e.do("PATCH", "/api/analyzers/"+id, e.key, map[string]any{"prompt": "summary"})
				wantStatus(t, r, 200)
				if r.json(t)["version"] != float64(2) {
					t.Fatalf("a change to nothing raised the version: %s", r.Body)
				}
				r = e.do("PATCH", "/api/analyzers/"+id, e.key, map[string]any{"active": false})
				wantStatus(t, r, 200)
				if m := r.json(t); m["version"] != float64(3) || m["active"] != false {
					t.Fatalf("deactivated = %s", r.Body)
				}
				r = e.do("PATCH", "/api/analyzers/"+llm["id"].(string), e.key, map[string]any{"output_schema": nil})
				wantStatus(t, r, 200)
				if m := r.json(t); m["output_schema"] != nil || m["version"] != float64(2) {
					t.Fatalf("schema cleared = %s", r.Body)
				}
			})
			t.Run("ErrConflict/Name", func(t *testing.T) {
				wantStatus(t, e.do("POST", "/api/analyzers", e.key, map[string]any{"name": "Compliance", "kind": "builtin", "prompt": "qa"}), 409)
				wantStatus(t, e.do("PATCH", "/api/analyzers/"+id, e.key, map[string]any{"name": "Compliance"}), 409)
				// Names are per tenant.
				wantStatus(t, e.do("POST", "/api/analyzers", otherKey(t, e), map[string]any{"name": "Compliance", "kind": "builtin", "prompt": "qa"}), 201)
			})
			t.Run("ErrInvalid", func(t *testing.T) {
				for _, c := range []struct {
					name string
					body map[string]any
					loc  []any
				}{
					{"NoName", map[string]any{"kind": "builtin", "prompt": "qa"}, []any{"body", "name"}},
					{"BlankName", map[string]any{"name": "  ", "kind": "builtin", "prompt": "qa"}, []any{"body", "name"}},
					{"NoKind", map[string]any{"name": "x", "prompt": "qa"}, []any{"body", "kind"}},
					{"BadKind", map[string]any{"name": "x", "kind": "regex", "prompt": "qa"}, []any{"body", "kind"}},
					{"BuiltinNoPrompt", map[string]any{"name": "x", "kind": "builtin"}, []any{"body", "prompt"}},
					{"BuiltinUnknownRule", map[string]any{"name": "x", "kind": "builtin", "prompt": "sentiment"}, []any{"body", "prompt"}},
					{"BuiltinNoKeywords", map[string]any{"name": "x", "kind": "builtin", "prompt": "keywords: , "}, []any{"body", "prompt"}},
					{"BuiltinWithSchema", map[string]any{"name": "x", "kind": "builtin", "prompt": "qa", "output_schema": map[string]any{"type": "object"}}, []any{"body", "output_schema"}},
					{"LLMNoPrompt", map[string]any{"name": "x", "kind": "llm"}, []any{"body", "prompt"}},
					{"LLMSchemaNotObject", map[string]any{"name": "x", "kind": "llm", "prompt": "p", "output_schema": map[string]any{"type": "string"}}, []any{"body", "output_schema"}},
					{"LLMSchemaArray", map[string]any{"name": "x", "kind": "llm", "prompt": "p", "output_schema": []any{1}}, []any{"body", "output_schema"}},
					{"LLMSchemaBadRequired", map[string]any{"name": "x", "kind": "llm", "prompt": "p", "output_schema": map[string]any{"type": "object", "required": "a"}}, []any{"body", "output_schema"}},
					{"WrongType", map[string]any{"name": "x", "kind": "builtin", "prompt": "qa", "active": "yes"}, []any{"body", "active"}},
				} {
					t.Run(c.name, func(t *testing.T) {
						wantField(t, e.do("POST", "/api/analyzers", e.key, c.body), c.loc...)
					})
				}
				wantField(t, e.do("PATCH", "/api/analyzers/"+id, e.key, map[string]any{"kind": "llm", "prompt": ""}), "body", "prompt")
				wantField(t, e.do("PATCH", "/api/analyzers/"+id, e.key, map[string]any{"name": ""}), "body", "name")
				wantField(t, e.do("PATCH", "/api/analyzers/"+llm["id"].(string), e.key, map[string]any{"kind": "builtin"}), "body", "prompt")
			})
			t.Run("OtherTenant", func(t *testing.T) {
				other := otherKey(t, e)
				r := e.do("GET", "/api/analyzers", other, nil)
				wantStatus(t, r, 200)
				if len(r.list(t)) != 0 {
					t.Fatalf("another tenant sees analyzers: %s", r.Body)
				}
				wantStatus(t, e.do("GET", "/api/analyzers/"+id, other, nil), 404)
				wantStatus(t, e.do("PATCH", "/api/analyzers/"+id, other, map[string]any{"active": true}), 404)
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+id, other, nil), 404)
				wantStatus(t, e.do("POST", "/api/analyzers/"+id+"/backfill", other, map[string]any{}), 404)
				wantStatus(t, e.do("GET", "/api/analyzers/"+id+"/backfills", other, nil), 404)
			})
			t.Run("Delete", func(t *testing.T) {
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+id, e.key, nil), 204)
				wantStatus(t, e.do("GET", "/api/analyzers/"+id, e.key, nil), 404)
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+id, e.key, nil), 404)
				wantStatus(t, e.do("PATCH", "/api/analyzers/"+id, e.key, map[string]any{"active": true}), 404)
			})
		})
	}
}

// TestRerun re-runs every active analyzer twice: each run is appended,
// the earlier ones stay as they were.
func TestRerun(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			c := mkConsoleCall(t, e, e.tenant.ID, true, "twilio:CA1")
			sum := createAnalyzer(t, e, map[string]any{"name": "Summary", "kind": "builtin", "prompt": "summary"})
			kw := createAnalyzer(t, e, map[string]any{"name": "Refunds", "kind": "builtin", "prompt": "keywords: refund"})
			createAnalyzer(t, e, map[string]any{"name": "Off", "kind": "builtin", "prompt": "qa", "active": false})

			r := e.do("POST", "/api/calls/CA1/rerun", e.key, nil)
			wantStatus(t, r, 202)
			m := r.json(t)
			wantExactKeys(t, "rerun", m, "call_id", "job_id", "status", "analyzers")
			if m["call_id"] != c.ID || m["status"] != "queued" || m["job_id"].(float64) <= 0 || len(m["analyzers"].([]any)) != 2 {
				t.Fatalf("rerun = %s", r.Body)
			}
			waitFor(t, "the first re-run", func() bool { return len(runsOf(t, e, c.ID)) == 2 })
			first := runsOf(t, e, c.ID)

			wantStatus(t, e.do("POST", "/api/calls/"+c.ID+"/rerun", e.key, nil), 202)
			waitFor(t, "the second re-run", func() bool { return len(runsOf(t, e, c.ID)) == 4 })
			time.Sleep(100 * time.Millisecond) // nothing more arrives
			runs := runsOf(t, e, c.ID)
			if len(runs) != 4 {
				t.Fatalf("%d runs, want 4", len(runs))
			}
			for i, r := range first {
				if !reflect.DeepEqual(runs[i], r) {
					t.Fatalf("run %d changed: %+v, was %+v", i, runs[i], r)
				}
			}
			per := map[string]int{}
			for _, r := range runs {
				per[r.AnalyzerID]++
				if r.AnalysisText == "" {
					t.Fatalf("empty analysis: %+v", r)
				}
				if r.AnalyzerID == kw["id"] && r.AnalysisText != "refund: 2" {
					t.Fatalf("keywords analysis = %q", r.AnalysisText)
				}
			}
			if per[sum["id"].(string)] != 2 || per[kw["id"].(string)] != 2 || len(per) != 2 {
				t.Fatalf("runs per analyzer = %v", per)
			}
			r = e.do("GET", "/api/calls/CA1", e.key, nil)
			wantStatus(t, r, 200)
			groups := r.json(t)["analysis_groups"].([]any)
			if len(groups) != 2 || len(groups[0].(map[string]any)["runs"].([]any)) != 2 || len(groups[1].(map[string]any)["runs"].([]any)) != 2 {
				t.Fatalf("groups = %s", r.Body)
			}

			t.Run("ErrConflict/NoTranscript", func(t *testing.T) {
				empty := mkConsoleCall(t, e, e.tenant.ID, false)
				wantStatus(t, e.do("POST", "/api/calls/"+empty.ID+"/rerun", e.key, nil), 409)
			})
			t.Run("ErrConflict/NoActiveAnalyzer", func(t *testing.T) {
				other := otherKey(t, e)
				oc := e.do("POST", "/api/v1/calls", other, map[string]any{"call_id": "other-1"})
				wantStatus(t, oc, 201)
				must(t, e.store.PutSegments(context.Background(), oc.json(t)["id"].(string), consoleTranscript))
				wantStatus(t, e.do("POST", "/api/calls/other-1/rerun", other, nil), 409)
			})
			wantStatus(t, e.do("POST", "/api/calls/nope/rerun", e.key, nil), 404)
		})
	}
}

// gatedEngines are the built-in engines with an analyzer runner that lets
// a number of runs through, then holds each further one until release is
// closed (or its job is stopped), and can fail a run once, retryably.
type gatedEngines struct {
	base    pipeline.BuiltinEngines
	after   int // runs let through; -1 for all
	release chan struct{}
	blocked chan struct{} // closed when a run is first held
	failOn  string        // analyzer name whose first run fails retryably

	mu     sync.Mutex
	calls  int
	failed bool
	once   sync.Once
}

func newGate(after int) *gatedEngines {
	return &gatedEngines{after: after, release: make(chan struct{}), blocked: make(chan struct{})}
}

func (g *gatedEngines) For(t *callscope.Tenant) pipeline.Engines {
	e := g.base.For(t)
	e.Analyzers = gatedRunner{g, e.Analyzers}
	return e
}

func (g *gatedEngines) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

type gatedRunner struct {
	g     *gatedEngines
	inner pipeline.AnalyzerRunner
}

// retryLater is a retryable provider error.
type retryLater struct{}

func (retryLater) Error() string             { return "provider busy" }
func (retryLater) Retryable() bool           { return true }
func (retryLater) RetryAfter() time.Duration { return 10 * time.Millisecond }

func (r gatedRunner) RunAnalyzer(ctx context.Context, a *callscope.Analyzer, in pipeline.Input) (string, json.RawMessage, pipeline.Usage, error) {
	g := r.g
	g.mu.Lock()
	n := g.calls
	g.calls++
	fail := a.Name == g.failOn && !g.failed
	if fail {
		g.failed = true
	}
	g.mu.Unlock()
	if fail {
		return "", nil, pipeline.Usage{}, retryLater{}
	}
	if g.after >= 0 && n >= g.after {
		g.once.Do(func() { close(g.blocked) })
		select {
		case <-g.release:
		case <-ctx.Done():
			return "", nil, pipeline.Usage{}, ctx.Err()
		}
	}
	return r.inner.RunAnalyzer(ctx, a, in)
}

// swapQueue stops the env's queue and starts another on the same
// database whose analyzer workers use engines: a restart of the worker
// process.
func swapQueue(t *testing.T, e *env, engines func(*callscope.Tenant) pipeline.Engines) *job.Queue {
	t.Helper()
	ctx := context.Background()
	stop, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	e.queue.Stop(stop)
	workers := river.NewWorkers()
	river.AddWorker(workers, &job.DispatchEventWorker{Store: e.store})
	river.AddWorker(workers, job.NewPendingWorker(e.store, nil, "processing is not worked in this test",
		func(a pipeline.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
	analyze.AddWorkers(workers, analyze.Config{Store: e.store, Engines: engines, PageSize: 4})
	q, err := job.New(e.store, workers, job.Config{PollInterval: 20 * time.Millisecond})
	must(t, err)
	must(t, q.Start(ctx))
	t.Cleanup(func() { q.Stop(context.Background()) })
	e.queue = q
	e.server.Calls.Queue, e.server.Analysis.Queue, e.server.Jobs = q, q, q
	return q
}

// TestRerunRetryAppendsOnce fails one analyzer retryably: the job runs
// again, and the analyzer that succeeded the first time is not run twice.
func TestRerunRetryAppendsOnce(t *testing.T) {
	e := newEnv(t, sqlstore.SQLite)
	g := newGate(-1)
	g.failOn = "Flaky"
	swapQueue(t, e, g.For)
	c := mkConsoleCall(t, e, e.tenant.ID, true)
	createAnalyzer(t, e, map[string]any{"name": "A Steady", "kind": "builtin", "prompt": "summary"})
	createAnalyzer(t, e, map[string]any{"name": "Flaky", "kind": "builtin", "prompt": "qa"})
	wantStatus(t, e.do("POST", "/api/calls/"+c.ID+"/rerun", e.key, nil), 202)
	waitFor(t, "both runs", func() bool { return len(runsOf(t, e, c.ID)) >= 2 && g.count() >= 3 })
	time.Sleep(200 * time.Millisecond)
	runs := runsOf(t, e, c.ID)
	if len(runs) != 2 || runs[0].AnalyzerName != "A Steady" || runs[1].AnalyzerName != "Flaky" {
		t.Fatalf("runs = %+v", runs)
	}
	if n := g.count(); n != 3 { // steady once, flaky twice
		t.Fatalf("engine ran %d times, want 3", n)
	}
}
