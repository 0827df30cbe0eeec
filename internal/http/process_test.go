package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// helplineCall is a realistic short helpline conversation.
var helplineCall = []map[string]any{
	{"segment_id": 1, "speaker": "agent", "start_time": 0.5, "end_time": 4.0, "text": "Good morning, you are through to the child helpline 116. My name is Grace, how can I help you?"},
	{"segment_id": 2, "speaker": "caller", "start_time": 4.5, "end_time": 11.0, "text": "Hello, my name is Wanjiru. I am calling about my neighbour's girl, she is nine years old and they beat her every day."},
	{"segment_id": 3, "speaker": "agent", "start_time": 11.5, "end_time": 15.0, "text": "I am sorry to hear that. Where do you live?"},
	{"segment_id": 4, "speaker": "caller", "start_time": 15.5, "end_time": 19.0, "text": "We live in Kibera, near the chief's camp. My number is 0712 345 678."},
	{"segment_id": 5, "speaker": "agent", "start_time": 19.5, "end_time": 26.0, "text": "Thank you Wanjiru. I will call you back tomorrow and we will send a children's officer on Monday."},
	{"segment_id": 6, "speaker": "caller", "start_time": 26.5, "end_time": 28.0, "text": "Thank you so much. Goodbye."},
}

func newCallWithSegments(t *testing.T, e *env, id string, segs []map[string]any) {
	t.Helper()
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": id, "start_time": "2025-10-24T08:43:35Z"}), 201)
	if len(segs) > 0 {
		must(t, e.store.PutSegments(context.Background(), mustCallID(t, e, id), toSegments(segs)))
	}
}

func mustCallID(t *testing.T, e *env, ref string) string {
	t.Helper()
	c, err := e.store.Call(context.Background(), e.tenant.ID, ref)
	must(t, err)
	return c.ID
}

func toSegments(raw []map[string]any) []callscope.Segment {
	var out []callscope.Segment
	for _, m := range raw {
		out = append(out, callscope.Segment{SegmentID: m["segment_id"].(int), Speaker: m["speaker"].(string),
			StartTime: m["start_time"].(float64), EndTime: m["end_time"].(float64), Text: m["text"].(string), Confidence: 0.9})
	}
	return out
}

func TestProcessConcurrentRequestsQueueOnce(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d) // processing jobs are recorded, not worked
			newCallWithSegments(t, e, "1761295415.12887", helplineCall)
			body := map[string]any{"call_id": "1761295415.12887", "tenant_id": e.tenant.ID}
			var wg sync.WaitGroup
			answers := make([]map[string]any, 50)
			codes := make([]int, 50)
			for i := range answers {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					r := e.do("POST", "/api/v1/process", e.key, body)
					codes[i] = r.Status
					json.Unmarshal(r.Body, &answers[i])
				}(i)
			}
			wg.Wait()
			queued := 0
			for i, a := range answers {
				if codes[i] != 202 {
					t.Fatalf("answer %d: status %d %v", i, codes[i], a)
				}
				switch a["status"] {
				case "queued":
					queued++
					if a["enqueued"] != true {
						t.Fatalf("queued but enqueued=%v", a["enqueued"])
					}
				case "already_queued_or_in_progress":
					if a["enqueued"] != false {
						t.Fatalf("duplicate but enqueued=%v", a["enqueued"])
					}
				default:
					t.Fatalf("answer %v", a)
				}
				if a["call_id"] != "1761295415.12887" || a["tenant_id"] != e.tenant.ID {
					t.Fatalf("answer echoes %v", a)
				}
			}
			if queued != 1 {
				t.Fatalf("%d answers say queued, want exactly 1", queued)
			}
			if n := jobKinds(t, e.store)["call.process"]; n != 1 {
				t.Fatalf("%d processing jobs, want exactly 1", n)
			}
			// The seed 001 trigger takes the same path: no duplicate.
			r := e.do("POST", "/api/v1/calls/1761295415.12887/trigger-ai-pipeline", e.key, nil)
			wantStatus(t, r, 200)
			if string(r.Body) != "\"AI pipeline processing triggered successfully\"\n" || r.Header.Get("X-Processing-Status") != "already-queued-or-in-progress" {
				t.Fatalf("trigger = %s %v", r.Body, r.Header)
			}
			if n := jobKinds(t, e.store)["call.process"]; n != 1 {
				t.Fatalf("%d processing jobs after trigger, want 1", n)
			}
		})
	}
}

func TestProcessValidation(t *testing.T) {
	e := newEnv(t, "sqlite")
	newCallWithSegments(t, e, "call-abc123xyz", nil)
	for _, tc := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"call_id": "short", "tenant_id": e.tenant.ID}, 400, "call_id"},
		{map[string]any{"call_id": "call-abc123xyz", "tenant_id": "ab"}, 400, "tenant_id"},
		{map[string]any{"tenant_id": e.tenant.ID}, 400, "call_id"},
		{map[string]any{"call_id": 12345678, "tenant_id": e.tenant.ID}, 400, "call_id"},
		{`{"call_id": `, 400, ""},
		{map[string]any{"call_id": "call-abc123xyz", "tenant_id": "someone-else"}, 403, ""},
		{map[string]any{"call_id": "call-not-there", "tenant_id": e.tenant.ID}, 404, ""},
	} {
		r := e.do("POST", "/api/v1/process", e.key, tc.body)
		wantStatus(t, r, tc.status)
		if tc.field != "" && !strings.Contains(string(r.Body), `"`+tc.field+`"`) {
			t.Fatalf("%v: answer %s does not name %s", tc.body, r.Body, tc.field)
		}
	}
	// The tenant may be named by name, and an admin may act for it.
	wantStatus(t, e.do("POST", "/api/v1/process", e.key, map[string]any{"call_id": "call-abc123xyz", "tenant_id": e.tenant.Name}), 202)
	r := e.do("POST", "/api/v1/process", e.admin, map[string]any{"call_id": "call-abc123xyz", "tenant_id": e.tenant.ID})
	wantStatus(t, r, 202)
	if r.json(t)["status"] != "already_queued_or_in_progress" {
		t.Fatalf("admin process = %s", r.Body)
	}
}

func waitProcessing(t *testing.T, e *env, callID string, want callscope.ProcessingStatus) *callscope.Processing {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := e.store.Processing(context.Background(), callID)
		if err == nil && p.Status == want {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("processing of %s never became %s: %+v %v", callID, want, p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProcessLifecycle(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newPipelineEnv(t, d)
			ctx := context.Background()
			newCallWithSegments(t, e, "1761295415.12887", helplineCall)
			id := mustCallID(t, e, "1761295415.12887")
			must(t, e.store.CreateAnalyzer(ctx, &callscope.Analyzer{TenantID: e.tenant.ID, Name: "Risk", Kind: "builtin", Prompt: "classification", Active: true}))
			body := map[string]any{"call_id": "1761295415.12887", "tenant_id": e.tenant.ID}
			r := e.do("POST", "/api/v1/process", e.key, body)
			wantStatus(t, r, 202)
			p := waitProcessing(t, e, id, callscope.ProcessingCompleted)

			var ran []string
			for _, st := range p.Stages {
				ran = append(ran, st.Stage+":"+st.Status)
			}
			want := "fetch_audio:skipped,decode_audio:skipped,transcribe:skipped,redact_pii:skipped,translate:skipped,entities:completed," +
				"enrich_contact:skipped,classify:completed,summarize:completed,qa_score:completed,analyzers:completed,todos:completed,insights:completed,deliver:completed"
			if strings.Join(ran, ",") != want {
				t.Fatalf("stages = %s\nwant     %s", strings.Join(ran, ","), want)
			}
			c, err := e.store.Call(ctx, e.tenant.ID, id)
			must(t, err)
			var cls struct{ Category, Risk string }
			must(t, json.Unmarshal(c.Classification, &cls))
			if cls.Category != "physical_abuse" || cls.Risk == "low" {
				t.Errorf("classification = %s", c.Classification)
			}
			var ents []struct{ Type, Text string }
			must(t, json.Unmarshal(c.Entities, &ents))
			found := map[string]bool{}
			for _, en := range ents {
				found[en.Type+":"+en.Text] = true
			}
			for _, w := range []string{"person:Wanjiru", "location:Kibera", "phone:0712 345 678"} {
				if !found[w] {
					t.Errorf("entity %s not found in %s", w, c.Entities)
				}
			}
			var todos []struct{ Text, Due string }
			must(t, json.Unmarshal(c.Todos, &todos))
			if len(todos) < 1 {
				t.Errorf("todos = %s", c.Todos)
			}
			if c.ProcessingStatus != callscope.ProcessingCompleted || len(c.Summary) == 0 || len(c.QA) == 0 || len(c.Insights) == 0 {
				t.Errorf("results missing: %+v", c)
			}
			runs, _ := e.store.AnalyzerRuns(ctx, id)
			if len(runs) != 1 || !strings.Contains(runs[0].AnalysisText, "Category") {
				t.Fatalf("analyzer runs = %+v", runs)
			}
			evs, _ := e.store.Events(ctx, e.tenant.ID, id)
			if evs[len(evs)-1].Type != callscope.EventAnalysisCompleted {
				t.Fatalf("last event = %s", evs[len(evs)-1].Type)
			}

			r = e.do("POST", "/api/v1/process", e.key, body)
			wantStatus(t, r, 202)
			if a := r.json(t); a["status"] != "already_completed" || a["enqueued"] != false {
				t.Fatalf("process after completion = %s", r.Body)
			}
			wantStatus(t, e.do("POST", "/api/v1/process/reprocess", e.key, body), 409)
			r = e.do("POST", "/api/v1/process/reprocess", e.key, map[string]any{"call_id": "1761295415.12887", "tenant_id": e.tenant.ID, "force": true})
			wantStatus(t, r, 202)
			if r.json(t)["status"] != "queued" {
				t.Fatalf("forced reprocess = %s", r.Body)
			}
			waitProcessing(t, e, id, callscope.ProcessingCompleted)
			runs, _ = e.store.AnalyzerRuns(ctx, id)
			if len(runs) != 2 {
				t.Fatalf("analyzer runs after a forced run = %d, want 2 (appended)", len(runs))
			}
		})
	}
}

func TestProcessEmptyCall(t *testing.T) {
	e := newPipelineEnv(t, "sqlite")
	newCallWithSegments(t, e, "empty-call-1", helplineCall[:2])
	id := mustCallID(t, e, "empty-call-1")
	wantStatus(t, e.do("POST", "/api/v1/process", e.key, map[string]any{"call_id": "empty-call-1", "tenant_id": e.tenant.ID}), 202)
	p := waitProcessing(t, e, id, callscope.ProcessingCompleted)
	for _, st := range p.Stages {
		if st.Stage == "summarize" && (st.Status != "skipped" || !strings.Contains(st.Reason, "empty call")) {
			t.Fatalf("summarize on an empty call: %+v", st)
		}
	}
	c, _ := e.store.Call(context.Background(), e.tenant.ID, id)
	if len(c.Summary) != 0 {
		t.Fatalf("empty call summarised: %s", c.Summary)
	}
}

var _ = fmt.Sprint
var _ = sqlstore.SQLite

// BenchmarkDuplicateProcess sends 10,000 identical process requests for one
// call from 32 concurrent clients (in-process, SQLite) and checks that
// exactly one processing job exists afterwards. Reports requests/s.
func BenchmarkDuplicateProcess(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := newEnv(b, "sqlite")
		h := e.server.Handler()
		ctx := context.Background()
		c := &callscope.Call{TenantID: e.tenant.ID, ExternalIDs: []callscope.ExternalID{{Kind: "pbx", Value: "1761295415.12887"}}}
		must(b, e.store.CreateCall(ctx, c))
		body := fmt.Sprintf(`{"call_id": "1761295415.12887", "tenant_id": %q}`, e.tenant.ID)
		const total = 10000
		var next, queued atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < 32; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= total {
					req := httptest.NewRequest("POST", "/api/v1/process", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+e.key)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 202 {
						b.Errorf("status %d: %s", rec.Code, rec.Body)
						return
					}
					if strings.Contains(rec.Body.String(), `"status":"queued"`) {
						queued.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		if n := jobKinds(b, e.store)["call.process"]; n != 1 || queued.Load() != 1 {
			b.Fatalf("%d requests gave %d jobs and %d queued answers, want 1 and 1", total, n, queued.Load())
		}
		b.ReportMetric(total/elapsed.Seconds(), "requests/s")
		b.ReportMetric(1, "jobs")
	}
}
