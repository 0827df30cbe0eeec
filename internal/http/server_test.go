package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/analyze"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/campaign"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/feed"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// env is a server on a real store with a working queue, served over
// loopback.
type env struct {
	t      testing.TB
	store  *sqlstore.Store
	queue  *job.Queue
	server *cshttp.Server
	url    string
	// tenant and its key; admin is an admin key of the default tenant.
	tenant *callscope.Tenant
	key    string
	admin  string
}

type envOpt func(*cshttp.Server)

// resultsSecret is the test tenant's X-CXBCore-Secret.
const resultsSecret = "results-secret-0123456789abcdef"

func newEnv(t testing.TB, d sqlstore.Dialect, opts ...envOpt) *env {
	t.Helper()
	return buildEnv(t, d, false, opts...)
}

// newPipelineEnv is newEnv with the post-call pipeline working processing
// jobs (built-in engines); in newEnv they are only recorded.
func newPipelineEnv(t testing.TB, d sqlstore.Dialect, opts ...envOpt) *env {
	t.Helper()
	return buildEnv(t, d, true, opts...)
}

func buildEnv(t testing.TB, d sqlstore.Dialect, withPipeline bool, opts ...envOpt) *env {
	t.Helper()
	ctx := context.Background()
	// The recordings' directory is made first, so that it is removed after
	// the queue whose workers write recordings has stopped (cleanups run
	// last in, first out).
	recordings := blob.Dir{Root: t.TempDir()}
	s := sqlstoretest.Open(t, d)
	if err := job.Migrate(ctx, s); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	var q *job.Queue
	// Webhooks go to loopback receivers here, on a shortened schedule.
	hooks := &deliver.Webhooks{Store: s, Policy: egress.Policy{AllowPrivate: true},
		Schedule: []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond}}
	callbacks := &deliver.Callbacks{Store: s, Webhooks: hooks}
	river.AddWorker(workers, &job.DispatchEventWorker{Store: s, Channels: []job.Channel{hooks, callbacks}})
	river.AddWorker(workers, hooks.Worker())
	river.AddWorker(workers, callbacks.Worker())
	placer := addAutocallerWorkers(workers)
	river.AddWorker(workers, &campaign.Worker{Store: s})
	river.AddWorker(workers, &deliver.CRMWorker{CRM: &deliver.CRM{Store: s}})
	runner := &pipeline.Runner{Store: s, Engines: (&pipeline.BuiltinEngines{}).For, Switches: config.Switches,
		Events: func(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, data callscope.EventData) error {
			_, err := q.RecordEvent(ctx, tx, c, data)
			return err
		}}
	if withPipeline {
		river.AddWorker(workers, &pipeline.Worker{Runner: runner, Limit: time.Minute})
	} else {
		river.AddWorker(workers, job.NewPendingWorker(s, nil, "processing is not worked in this test",
			func(a pipeline.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
	}
	analyze.AddWorkers(workers, analyze.Config{Store: s, Engines: runner.Engines, Redact: analyze.RedactsLike(runner)})
	var err error
	// Tests look for jobs often, to finish soon; benchmarks run the queue
	// as serve does.
	qcfg := job.Config{PollInterval: 20 * time.Millisecond}
	if _, bench := t.(*testing.B); bench {
		qcfg = job.Config{}
	}
	q, err = job.New(s, workers, qcfg)
	if err != nil {
		t.Fatal(err)
	}
	hooks.Queue, callbacks.Queue = q, q
	q.DispatchTo(hooks, callbacks)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	e := &env{t: t, store: s, queue: q}
	def := &callscope.Tenant{Name: callscope.DefaultTenantName}
	must(t, s.CreateTenant(ctx, def))
	_, e.admin, err = s.CreateAPIKey(ctx, def.ID, "admin", true)
	must(t, err)
	e.tenant = sqlstoretest.MustTenant(t, s)
	secret := resultsSecret
	e.tenant, err = s.UpdateTenant(ctx, e.tenant.ID, callscope.TenantUpdate{ResultsSecret: &secret})
	must(t, err)
	_, e.key, err = s.CreateAPIKey(ctx, e.tenant.ID, "", false)
	must(t, err)
	e.server = &cshttp.Server{Store: s, Calls: &call.Service{Store: s, Queue: q, ProcessingEnabled: true, Stages: pipeline.Stages,
		Recordings: recordings},
		Analysis: &analyze.Service{Store: s, Queue: q}, Jobs: q, Webhooks: hooks,
		Recordings: recordings}
	// Outbound calls are placed by the simulator (autocaller_test.go).
	e.server.Outbound, e.server.Callbacks = autocallerFor(placer, e.server.Calls, e.server.Recordings, callbacks)
	// Campaigns are dispatched when they change (serve also runs the
	// redial loop).
	e.server.Campaigns = &campaign.Service{Store: s, Calls: e.server.Calls}
	e.server.Agents = func() *deliver.Agent { return &deliver.Agent{Store: s, Egress: e.server.Egress} }
	hub := &feed.Hub{Source: s, Poll: 20 * time.Millisecond}
	q.OnFeed(hub.Wake)
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { hub.Run(hubCtx); close(hubDone) }()
	t.Cleanup(func() { stopHub(); <-hubDone })
	e.server.Feed = hub
	for _, o := range opts {
		o(e.server)
	}
	hs := httptest.NewServer(e.server.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

func (e *env) do(method, path, key string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		must(e.t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	must(e.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	must(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(e.t, err)
	return response{res.StatusCode, res.Header, b}
}

func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
}

func TestCalls(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			r := e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "1761295415.12887", "from": "+254711000111",
				"to": "116", "metadata": map[string]any{"queue": "helpline"}})
			wantStatus(t, r, 201)
			created := r.json(t)
			if created["call_id"] != "1761295415.12887" || created["status"] != "active" || created["processing_mode"] != "postcall_only" {
				t.Fatalf("created = %s", r.Body)
			}
			for _, ref := range []string{"1761295415.12887", created["id"].(string)} {
				r = e.do("GET", "/api/v1/calls/"+ref, e.key, nil)
				wantStatus(t, r, 200)
				got := r.json(t)
				for _, k := range []string{"call_id", "start_time", "last_activity", "connection_info", "transcript_segments",
					"cumulative_transcript", "total_audio_duration", "segment_count", "status", "processing_mode", "processing_plan"} {
					if _, ok := got[k]; !ok {
						t.Fatalf("GET %s lacks seed field %q: %s", ref, k, r.Body)
					}
				}
			}
			r = e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "1761295415.12887"})
			wantStatus(t, r, 409)
			r = e.do("GET", "/api/v1/calls?limit=1", e.key, nil)
			wantStatus(t, r, 200)
			if list := r.json(t); len(list["calls"].([]any)) != 1 {
				t.Fatalf("list = %s", r.Body)
			}
			// The event recorded with the call is dispatched by the queue.
			deadline := time.Now().Add(10 * time.Second)
			for {
				n, err := e.store.UndispatchedEvents(context.Background(), e.tenant.ID)
				must(t, err)
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d events never dispatched", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
