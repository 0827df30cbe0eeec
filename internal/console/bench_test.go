package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callscope/callscope"
)

// assetBytes is the weight of the console's stylesheet, script and icon,
// which every page loads once and browsers then cache.
func assetBytes(b *testing.B, f *fixture) int {
	total := 0
	for _, p := range []string{"/console/assets/console.css", "/console/assets/console.js", "/console/assets/favicon.svg"} {
		w := f.do("GET", p, nil)
		if w.Code != 200 {
			b.Fatalf("%s: %d", p, w.Code)
		}
		total += w.Body.Len()
	}
	return total
}

// measurePage renders path b.N times through the console handler and
// reports the page's weight.
func measurePage(b *testing.B, f *fixture, ck *http.Cookie, path string) {
	var size int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("GET", path, nil)
		r.AddCookie(ck)
		w := httptest.NewRecorder()
		f.c.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("%s: %d", path, w.Code)
		}
		size = w.Body.Len()
	}
	b.StopTimer()
	b.ReportMetric(float64(size), "html-bytes")
	b.ReportMetric(float64(size+assetBytes(b, f)), "bytes-with-assets")
}

// BenchmarkCallListPage renders the first and a later page of the call
// list of a tenant with 100,000 calls on SQLite (goals: under 50 ms and
// 300 KB).
func BenchmarkCallListPage(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	seed := &callscope.Call{TenantID: f.tenant.ID, Direction: callscope.Inbound, From: "+15550000000", To: "+15559876543",
		Status: callscope.CallCompleted, Title: "Billing question", DurationSeconds: 185, StartedAt: &start,
		Classification: json.RawMessage(`{"category":"billing","label":"Billing","risk":"low","confidence":0.7}`)}
	if err := f.store.CreateCall(ctx, seed); err != nil {
		b.Fatal(err)
	}
	// The other 99,999 are copies of it, written in one statement.
	_, err := f.store.SQLDB().ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
		INSERT INTO calls (id, tenant_id, direction, from_number, to_number, title, status, duration_seconds, started_at,
			classification, created_at, updated_at, version)
		SELECT printf('%s-%06d', c.id, n.i), c.tenant_id, c.direction, printf('+1555%07d', n.i), c.to_number, c.title, c.status,
			n.i % 900, c.started_at, c.classification, c.created_at, c.updated_at, 1
		FROM n, calls c WHERE c.id = ?`, seed.ID)
	if err != nil {
		b.Fatal(err)
	}
	if n, err := f.store.CountCalls(ctx, f.tenant.ID); err != nil || n != 100000 {
		b.Fatalf("%d calls, %v", n, err)
	}
	ck, _ := f.signIn(b)
	b.Run("First", func(b *testing.B) { measurePage(b, f, ck, "/calls") })
	b.Run("Later", func(b *testing.B) { measurePage(b, f, ck, fmt.Sprintf("/calls?after=%s-%06d", seed.ID, 50000)) })
}

// BenchmarkCallPage renders the page of a one-hour call with 1,000
// segments, entities, classification, summary, QA, nine analyzer runs and a
// processing timeline (goals: under 50 ms and 300 KB).
func BenchmarkCallPage(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	segs := make([]callscope.Segment, 1000)
	var ents []map[string]any
	for i := range segs {
		speaker := "caller"
		if i%2 == 1 {
			speaker = "agent"
		}
		segs[i] = callscope.Segment{SegmentID: i, Speaker: speaker, StartTime: float64(i) * 3.6, EndTime: float64(i+1) * 3.6,
			Text: fmt.Sprintf("Segment %d: my child has not come home from school since Tuesday, we live in Kibera.", i), Confidence: 0.9}
		if i%5 == 0 {
			ents = append(ents, map[string]any{"type": "LOCATION", "text": "Kibera", "segment_id": i, "start": len(fmt.Sprintf("Segment %d: my child has not come home from school since Tuesday, we live in ", i)), "end": 0})
		}
	}
	for _, e := range ents {
		e["end"] = e["start"].(int) + 6
	}
	entities, _ := json.Marshal(ents)
	start := time.Now().Add(-2 * time.Hour)
	c := &callscope.Call{TenantID: f.tenant.ID, Direction: callscope.Inbound, From: "+15550001", To: "+15550002", Status: callscope.CallCompleted,
		Title: "Missing child", DurationSeconds: 3600, StartedAt: &start, Entities: entities,
		Classification: json.RawMessage(`{"category":"missing_child","label":"Missing child","risk":"high","confidence":0.8,"evidence":[{"segment_id":0,"phrase":"not come home"},{"segment_id":2,"phrase":"since Tuesday"}]}`),
		Summary:        json.RawMessage(`{"text":"The caller's child has not come home from school since Tuesday.","agreed":["A case is opened"],"next_steps":["Call back tomorrow"]}`),
		QA:             json.RawMessage(`{"rubric":"helpline","score":82,"items":[{"label":"Greeting","score":100},{"label":"Empathy","score":70}]}`)}
	if err := f.store.CreateCall(ctx, c); err != nil {
		b.Fatal(err)
	}
	if err := f.store.PutSegments(ctx, c.ID, segs); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		a := &callscope.Analyzer{TenantID: f.tenant.ID, Name: fmt.Sprintf("Analyzer %d", i), Kind: "builtin", Prompt: "summary", Active: true}
		if err := f.store.CreateAnalyzer(ctx, a); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 3; j++ {
			if err := f.store.AppendAnalyzerRun(ctx, &callscope.AnalyzerRun{CallID: c.ID, TenantID: f.tenant.ID, AnalyzerID: a.ID,
				AnalyzerName: a.Name, AnalysisText: "No compliance issues found. The agent greeted the caller and confirmed the details."}); err != nil {
				b.Fatal(err)
			}
		}
	}
	p := &callscope.Processing{CallID: c.ID, TenantID: f.tenant.ID, Status: callscope.ProcessingCompleted}
	for _, st := range []string{"fetch_audio", "decode", "transcribe", "translate", "entities", "classify", "summarise", "qa", "analyzers", "todos", "insights", "deliver"} {
		p.Stages = append(p.Stages, callscope.StageRun{Stage: st, Status: "completed", StartedAt: start, Seconds: 1.5})
	}
	if err := f.store.PutProcessing(ctx, p); err != nil {
		b.Fatal(err)
	}
	ck, _ := f.signIn(b)
	measurePage(b, f, ck, "/calls/"+c.ID)
}
