package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// decodeAs decodes an answer into v, failing the test if it does not fit.
func decodeAs(t testing.TB, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("answer does not decode into %T: %v: %s", v, err, r.Body)
	}
}

// keysOf returns the sorted keys of a JSON object.
func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wantKeys fails unless m has every key of the seed's shape.
func wantKeys(t testing.TB, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Fatalf("%s lacks %q; has %v", what, k, keysOf(m))
		}
	}
}

// wantField fails unless the field error list names loc.
func wantField(t testing.TB, r response, loc ...any) {
	t.Helper()
	wantStatus(t, r, 422)
	var body struct {
		Detail []struct {
			Loc  []any  `json:"loc"`
			Msg  string `json:"msg"`
			Type string `json:"type"`
		} `json:"detail"`
	}
	decodeAs(t, r, &body)
	want := fmt.Sprintf("%q", loc)
	var got []string
	for _, d := range body.Detail {
		if fmt.Sprintf("%q", d.Loc) == want && d.Msg != "" && d.Type != "" {
			return
		}
		got = append(got, fmt.Sprintf("%q", d.Loc))
	}
	t.Fatalf("422 does not name %v; names %v: %s", loc, got, r.Body)
}

var sessionKeys = []string{"call_id", "start_time", "last_activity", "connection_info", "transcript_segments",
	"cumulative_transcript", "total_audio_duration", "segment_count", "status", "processing_mode", "processing_plan"}

type segmentJSON struct {
	SegmentID  int     `json:"segment_id"`
	Text       string  `json:"text"`
	StartTime  float64 `json:"start_time"`
	EndTime    float64 `json:"end_time"`
	Duration   float64 `json:"duration"`
	Confidence float64 `json:"confidence"`
	Speaker    string  `json:"speaker"`
}

// TestCallSessions drives every Call Sessions API route of seed 001 §3 on
// each database and compares the answers with the documented shapes.
// sessionsFixture is one tenant's Call Sessions API as a PBX integration
// leaves it: three calls (two live), another tenant's call under its own
// key, four segments written out of order and twice, the results of a
// pipeline and of progressive analysis. Each behaviour test starts from a
// fresh one.
type sessionsFixture struct {
	e              *env
	ctx            context.Context
	now, start     time.Time
	id             string
	callA          map[string]any
	other          *callscope.Tenant
	otherKey       string
	wantSegs       []segmentJSON
	wantTranscript string
	c              *callscope.Call
}

func newSessionsFixture(t *testing.T, d sqlstore.Dialect) *sessionsFixture {
	t.Helper()

	ctx := context.Background()
	now := time.Date(2025, 10, 24, 9, 0, 0, 0, time.UTC)
	e := newEnv(t, d, func(s *cshttp.Server) { s.Now = func() time.Time { return now }; s.Calls.Now = s.Now })
	start := now.Add(-95 * time.Second)
	const id = "1761295415.12887"
	mk := func(body map[string]any) map[string]any {
		t.Helper()
		r := e.do("POST", "/api/v1/calls", e.key, body)
		wantStatus(t, r, 201)
		return r.json(t)
	}
	callA := mk(map[string]any{"call_id": id, "start_time": start, "processing_mode": "hybrid"})
	mk(map[string]any{"call_id": "1761295415.20000", "status": "ringing"})
	mk(map[string]any{"call_id": "done-1", "status": "completed"})
	// Another tenant's call under the same external id.
	other := sqlstoretest.MustTenant(t, e.store)
	_, otherKey, err := e.store.CreateAPIKey(ctx, other.ID, "", false)
	must(t, err)
	r := e.do("POST", "/api/v1/calls", otherKey, map[string]any{"call_id": "theirs-1"})
	wantStatus(t, r, 201)

	// Segments arrive out of order, twice, then without ids.
	batch := map[string]any{"segments": []map[string]any{
		{"segment_id": 1, "speaker": "agent", "start_time": 3.5, "end_time": 6.25, "text": "Karibu, \"116\" helpline.", "confidence": 0.92},
		{"segment_id": 0, "speaker": "caller", "start_time": 0, "end_time": 3.5, "text": "Habari\nyako", "confidence": 0.8},
	}}
	var first, second struct {
		CallID             string  `json:"call_id"`
		SegmentCount       int     `json:"segment_count"`
		TotalAudioDuration float64 `json:"total_audio_duration"`
		SegmentIDs         []int   `json:"segment_ids"`
	}
	r = e.do("POST", "/api/v1/calls/"+id+"/segments", e.key, batch)
	wantStatus(t, r, 200)
	decodeAs(t, r, &first)
	r = e.do("POST", "/api/v1/calls/"+id+"/segments", e.key, batch)
	wantStatus(t, r, 200)
	decodeAs(t, r, &second)
	if first.CallID != id || first.SegmentCount != 2 || first.TotalAudioDuration != 6.25 || !reflect.DeepEqual(first.SegmentIDs, []int{1, 0}) ||
		!reflect.DeepEqual(first, second) {
		t.Fatalf("segment writes: first %+v, second %+v (want the same, 2 segments, 6.25 s)", first, second)
	}
	// A bare array; segments without an id follow the highest.
	r = e.do("POST", "/api/v1/calls/"+callA["id"].(string)+"/segments", e.key, []map[string]any{
		{"speaker": "caller", "start_time": 6.25, "end_time": 9.5, "text": "Mtoto wangu Amina amepotea Kibera.", "confidence": 0.85},
		{"speaker": "agent", "start_time": 9.5, "end_time": 12, "text": "Pole sana.", "confidence": 0.9}})
	wantStatus(t, r, 200)
	decodeAs(t, r, &first)
	if first.SegmentCount != 4 || first.TotalAudioDuration != 12 || !reflect.DeepEqual(first.SegmentIDs, []int{2, 3}) {
		t.Fatalf("bare-array write = %+v", first)
	}
	wantSegs := []segmentJSON{
		{0, "Habari\nyako", 0, 3.5, 3.5, 0.8, "caller"},
		{1, "Karibu, \"116\" helpline.", 3.5, 6.25, 2.75, 0.92, "agent"},
		{2, "Mtoto wangu Amina amepotea Kibera.", 6.25, 9.5, 3.25, 0.85, "caller"},
		{3, "Pole sana.", 9.5, 12, 2.5, 0.9, "agent"},
	}
	wantTranscript := "Habari\nyako Karibu, \"116\" helpline. Mtoto wangu Amina amepotea Kibera. Pole sana."

	// Results of the (future) pipeline and the progressive pass, stored directly.
	c, err := e.store.Call(ctx, e.tenant.ID, id)
	must(t, err)
	c.Language, c.Translation, c.TranslationLanguage = "sw", "Hello, how are you? Welcome. My child Amina is lost in Kibera. Very sorry.", "en"
	c.Metadata["translation_model"] = "openchs/sw-en-opus-mt-mul-en-v1"
	c.Entities = json.RawMessage(`[{"type":"person","text":"Amina","segment_id":2},{"type":"location","text":"Kibera","segment_id":2},{"type":"person","text":"amina","segment_id":3}]`)
	c.Classification = json.RawMessage(`{"category":"child_protection","confidence":0.8}`)
	c.Summary = json.RawMessage(`{"text":"Caller reports her child Amina missing in Kibera.","next_steps":[]}`)
	c.Insights = json.RawMessage(`{"risk":"high"}`)
	must(t, e.store.UpdateCall(ctx, c))
	b, err := e.store.Call(ctx, e.tenant.ID, "1761295415.20000")
	must(t, err)
	for _, sn := range []callscope.EvolutionSnapshot{
		{Kind: callscope.EvolutionTranslation, WindowIndex: 0, WindowEnd: 15, Data: json.RawMessage(`{"translation":"Hello."}`)},
		{Kind: callscope.EvolutionTranslation, WindowIndex: 1, WindowStart: 11.25, WindowEnd: 26.25, Data: json.RawMessage(`{"text":"My child is lost."}`)},
		{Kind: callscope.EvolutionEntity, WindowIndex: 0, WindowEnd: 15, Data: json.RawMessage(`{"persons":[]}`)},
		{Kind: callscope.EvolutionEntity, WindowIndex: 1, WindowStart: 11.25, WindowEnd: 26.25, Data: json.RawMessage(`{"persons":["Amina"]}`)},
		{Kind: callscope.EvolutionClassification, WindowIndex: 0, WindowEnd: 15, Data: json.RawMessage(`{"category":"general_inquiry","confidence":0.4}`)},
		{Kind: callscope.EvolutionClassification, WindowIndex: 1, WindowStart: 11.25, WindowEnd: 26.25, Data: json.RawMessage(`{"category":"general_inquiry","confidence":0.5}`)},
		{Kind: callscope.EvolutionClassification, WindowIndex: 2, WindowStart: 22.5, WindowEnd: 37.5, Data: json.RawMessage(`{"category":"child_protection","confidence":0.7}`)},
	} {
		sn.CallID, sn.TenantID = b.ID, b.TenantID
		must(t, e.store.AppendEvolution(ctx, &sn))
	}
	return &sessionsFixture{e: e, ctx: ctx, now: now, start: start, id: id, callA: callA, other: other, otherKey: otherKey,
		wantSegs: wantSegs, wantTranscript: wantTranscript, c: c}
}

// end ends the fixture's first call as a PBX hangup does.
func (f *sessionsFixture) end(t *testing.T) {
	t.Helper()
	wantStatus(t, f.e.do("POST", "/api/v1/calls/"+f.id+"/end?reason=caller_hangup", f.e.key, nil), 200)
}

// eachSessionsFixture runs fn on a fresh fixture for every database.
func eachSessionsFixture(t *testing.T, fn func(t *testing.T, f *sessionsFixture)) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, newSessionsFixture(t, d)) })
	}
}

func TestSessionsSegments(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, id, wantSegs := f.e, f.id, f.wantSegs

		r := e.do("GET", "/api/v1/calls/"+id+"/segments", e.key, nil)
		wantStatus(t, r, 200)
		var raw []map[string]any
		decodeAs(t, r, &raw)
		for _, s := range raw {
			wantKeys(t, "segment", s, "segment_id", "text", "start_time", "end_time", "duration", "confidence", "speaker")
		}
		var got []segmentJSON
		decodeAs(t, r, &got)
		if !reflect.DeepEqual(got, wantSegs) {
			t.Fatalf("segments = %+v\nwant %+v", got, wantSegs)
		}
	})
}

func TestSessionsTranscript(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, id, wantSegs, wantTranscript := f.e, f.id, f.wantSegs, f.wantTranscript

		r := e.do("GET", "/api/v1/calls/"+id+"/transcript", e.key, nil)
		wantStatus(t, r, 200)
		m := r.json(t)
		if got := keysOf(m); !reflect.DeepEqual(got, []string{"call_id", "cumulative_transcript", "language", "segment_count", "total_duration"}) {
			t.Fatalf("transcript without include_segments has keys %v (segments must be absent)", got)
		}
		if m["call_id"] != id || m["cumulative_transcript"] != wantTranscript || m["segment_count"] != 4.0 || m["total_duration"] != 12.0 || m["language"] != "sw" {
			t.Fatalf("transcript = %s", r.Body)
		}
		for _, v := range []string{"true", "1", "TRUE"} {
			r = e.do("GET", "/api/v1/calls/"+id+"/transcript?include_segments="+v, e.key, nil)
			wantStatus(t, r, 200)
			var withSegs struct {
				Segments []segmentJSON `json:"segments"`
			}
			decodeAs(t, r, &withSegs)
			if !reflect.DeepEqual(withSegs.Segments, wantSegs) {
				t.Fatalf("include_segments=%s: segments = %+v", v, withSegs.Segments)
			}
		}
		r = e.do("GET", "/api/v1/calls/"+id+"/transcript?include_segments=0", e.key, nil)
		wantStatus(t, r, 200)
		if _, ok := r.json(t)["segments"]; ok {
			t.Fatalf("include_segments=0 answered segments: %s", r.Body)
		}
		for _, bad := range []string{"maybe", "", "yes2"} {
			wantField(t, e.do("GET", "/api/v1/calls/"+id+"/transcript?include_segments="+bad, e.key, nil), "query", "include_segments")
		}
	})
}

func TestSessionsActive(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, now, start, id, wantTranscript := f.e, f.now, f.start, f.id, f.wantTranscript

		r := e.do("GET", "/api/v1/calls/active", e.key, nil)
		wantStatus(t, r, 200)
		var list []map[string]any
		decodeAs(t, r, &list)
		var ids []string
		for _, s := range list {
			wantKeys(t, "active session", s, sessionKeys...)
			ids = append(ids, s["call_id"].(string))
		}
		if !reflect.DeepEqual(ids, []string{id, "1761295415.20000"}) {
			t.Fatalf("active sessions = %v, want the two live calls of this tenant", ids)
		}
		a := list[0]
		if a["status"] != "active" || a["segment_count"] != 4.0 || a["total_audio_duration"] != 12.0 ||
			a["cumulative_transcript"] != wantTranscript || len(a["transcript_segments"].([]any)) != 4 ||
			a["processing_mode"] != "hybrid" || a["start_time"] != start.Format(time.RFC3339Nano) ||
			a["last_activity"] != now.Format(time.RFC3339Nano) {
			t.Fatalf("active session = %v", a)
		}
		if list[1]["status"] != "active" || list[1]["segment_count"] != 0.0 || len(list[1]["transcript_segments"].([]any)) != 0 {
			t.Fatalf("ringing session = %v", list[1])
		}
	})
}

func TestSessionsStats(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, id, otherKey := f.e, f.id, f.otherKey

		r := e.do("GET", "/api/v1/calls/stats", e.key, nil)
		wantStatus(t, r, 200)
		m := r.json(t)
		want := map[string]any{"active_sessions": 2.0, "total_audio_duration": 12.0, "total_segments": 4.0,
			"average_duration_per_session": 6.0, "session_list": []any{id, "1761295415.20000"}}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("stats = %v\nwant %v", m, want)
		}
		r = e.do("GET", "/api/v1/calls/stats", otherKey, nil)
		wantStatus(t, r, 200)
		if m := r.json(t); m["active_sessions"] != 1.0 || !reflect.DeepEqual(m["session_list"], []any{"theirs-1"}) {
			t.Fatalf("other tenant's stats = %v", m)
		}
	})
}

func TestSessionsProcessingNotRequested(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, id := f.e, f.id

		r := e.do("GET", "/api/v1/calls/"+id+"/processing", e.key, nil)
		wantStatus(t, r, 200)
		m := r.json(t)
		wantKeys(t, "processing", m, "call_id", "processing_status", "current_stage", "stages_completed", "stages_remaining",
			"progress_percentage", "started_at", "estimated_completion", "errors", "pipeline_config")
		if m["processing_status"] != "pending" || m["processing_requested"] != false || m["started_at"] != nil ||
			m["estimated_completion"] != nil || m["progress_percentage"] != 0.0 || len(m["stages_remaining"].([]any)) != 0 {
			t.Fatalf("processing never requested = %s", r.Body)
		}
	})
}

func TestSessionsEnd(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, ctx, now, id := f.e, f.ctx, f.now, f.id

		wantField(t, e.do("POST", "/api/v1/calls/"+id+"/end?reason="+strings.Repeat("x", 201), e.key, nil), "query", "reason")
		wantField(t, e.do("POST", "/api/v1/calls/"+id+"/end?reason=", e.key, nil), "query", "reason")
		r := e.do("POST", "/api/v1/calls/"+id+"/end?reason=caller_hangup", e.key, nil)
		wantStatus(t, r, 200)
		if strings.TrimSpace(string(r.Body)) != `"Call ended successfully"` {
			t.Fatalf("end answered %s", r.Body)
		}
		ended, err := e.store.Call(ctx, e.tenant.ID, id)
		must(t, err)
		if ended.Status != callscope.CallCompleted || ended.EndedAt == nil || !ended.EndedAt.Equal(now) || ended.DurationSeconds != 95 ||
			ended.Metadata["end_reason"] != "caller_hangup" || ended.Translation == "" {
			t.Fatalf("ended call = %+v", ended)
		}
		later := now
		now = now.Add(time.Minute) // a second end changes nothing, not even the end time
		r = e.do("POST", "/api/v1/calls/"+id+"/end", e.key, nil)
		wantStatus(t, r, 200)
		if strings.TrimSpace(string(r.Body)) != `"Call ended successfully"` {
			t.Fatalf("second end answered %s", r.Body)
		}
		again, err := e.store.Call(ctx, e.tenant.ID, id)
		must(t, err)
		if !again.EndedAt.Equal(later) || again.Metadata["end_reason"] != "caller_hangup" || !again.UpdatedAt.Equal(ended.UpdatedAt) {
			t.Fatalf("second end changed the call: %+v", again)
		}
		evs, err := e.store.Events(ctx, e.tenant.ID, ended.ID)
		must(t, err)
		completed := 0
		for _, ev := range evs {
			if ev.Type == callscope.EventCallCompleted {
				completed++
			}
		}
		jobs, err := job.CallJobs(ctx, e.store, pipeline.ProcessCallArgs{}.Kind(), e.tenant.ID, ended.ID)
		must(t, err)
		total := 0
		for _, n := range jobs {
			total += n
		}
		if completed != 1 || total != 1 {
			t.Fatalf("after two ends: %d call.completed events and %d processing jobs, want 1 and 1", completed, total)
		}
		r = e.do("GET", "/api/v1/calls/"+id, e.key, nil)
		wantStatus(t, r, 200)
		if m := r.json(t); m["status"] != "completed" || m["end_time"] != now.Add(-time.Minute).Format(time.RFC3339Nano) {
			t.Fatalf("session after end = %s", r.Body)
		}
		r = e.do("GET", "/api/v1/calls/active", e.key, nil)
		if strings.Contains(string(r.Body), id) {
			t.Fatalf("ended call still active: %s", r.Body)
		}
		// Processing is requested now: pending until a run starts.
		r = e.do("GET", "/api/v1/calls/"+id+"/processing", e.key, nil)
		wantStatus(t, r, 200)
		if m := r.json(t); m["processing_status"] != "pending" || m["processing_requested"] != true {
			t.Fatalf("processing after end = %s", r.Body)
		}
		now = later
	})
}

func TestSessionsProcessingInProgress(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, ctx, now, id, otherKey, c := f.e, f.ctx, f.now, f.id, f.otherKey, f.c
		f.end(t)

		started := now.Add(-30 * time.Second)
		must(t, e.store.PutProcessing(ctx, &callscope.Processing{CallID: c.ID, TenantID: c.TenantID, Status: callscope.ProcessingInProgress,
			CurrentStage: "translate", StagesCompleted: []string{"fetch_audio", "transcribe"}, StagesRemaining: []string{"translate", "entities", "classify"},
			StartedAt: &started, Attempts: 1, Config: map[string]any{"qa": true},
			Stages: []callscope.StageRun{{Stage: "fetch_audio", Status: "completed", Seconds: 2}, {Stage: "transcribe", Status: "completed", Seconds: 18}}}))
		r := e.do("GET", "/api/v1/calls/"+id+"/processing", e.key, nil)
		wantStatus(t, r, 200)
		m := r.json(t)
		// Three stages left at 10 s each on average.
		if m["processing_status"] != "in_progress" || m["current_stage"] != "translate" || m["progress_percentage"] != 40.0 ||
			m["started_at"] != started.Format(time.RFC3339Nano) || m["estimated_completion"] != now.Add(30*time.Second).Format(time.RFC3339Nano) ||
			!reflect.DeepEqual(m["pipeline_config"], map[string]any{"qa": true}) || len(m["errors"].([]any)) != 0 {
			t.Fatalf("processing = %s", r.Body)
		}
		r = e.do("GET", "/api/v1/calls/processing/status", e.key, nil)
		wantStatus(t, r, 200)
		m = r.json(t)
		if !reflect.DeepEqual(m["status_counts"], map[string]any{"pending": 0.0, "in_progress": 1.0, "completed": 0.0, "failed": 0.0}) ||
			!reflect.DeepEqual(m["calls_in_progress"], []any{id}) || m["not_requested"] != 2.0 {
			t.Fatalf("processing status = %s", r.Body)
		}
		q := m["queue"].(map[string]any)
		sum := 0.0
		for _, n := range q {
			sum += n.(float64)
		}
		if sum != 1 || m["queue_depth"].(float64)+m["running"].(float64) > 1 {
			t.Fatalf("queue of this tenant = %v, want its one processing job", q)
		}
		r = e.do("GET", "/api/v1/calls/processing/status", otherKey, nil)
		if m := r.json(t); len(m["calls_in_progress"].([]any)) != 0 || m["status_counts"].(map[string]any)["in_progress"] != 0.0 {
			t.Fatalf("another tenant sees this tenant's processing: %s", r.Body)
		}
	})
}

func TestSessionsAppendValidation(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e := f.e

		path := "/api/v1/calls/1761295415.20000/segments"
		seg := func(kv ...any) map[string]any {
			m := map[string]any{"speaker": "caller", "start_time": 1.0, "end_time": 2.0, "text": "x", "confidence": 0.5}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(m, kv[i].(string))
				} else {
					m[kv[i].(string)] = kv[i+1]
				}
			}
			return m
		}
		body := func(segs ...map[string]any) map[string]any { return map[string]any{"segments": segs} }
		wantField(t, e.do("POST", path, e.key, body(seg(), seg("start_time", 5.0, "end_time", 4.0))), "body", "segments", "1", "end_time")
		wantField(t, e.do("POST", path, e.key, body(seg("start_time", -1.0))), "body", "segments", "0", "start_time")
		wantField(t, e.do("POST", path, e.key, body(seg("end_time", nil))), "body", "segments", "0", "end_time")
		wantField(t, e.do("POST", path, e.key, body(seg("text", nil))), "body", "segments", "0", "text")
		wantField(t, e.do("POST", path, e.key, body(seg("text", "  "))), "body", "segments", "0", "text")
		wantField(t, e.do("POST", path, e.key, body(seg("confidence", 1.5))), "body", "segments", "0", "confidence")
		wantField(t, e.do("POST", path, e.key, body(seg("segment_id", -2))), "body", "segments", "0", "segment_id")
		wantField(t, e.do("POST", path, e.key, body(seg("segment_id", 4), seg("segment_id", 4))), "body", "segments", "1", "segment_id")
		wantField(t, e.do("POST", path, e.key, body(seg("start_time", "soon"))), "body", "segments", "0", "start_time")
		wantField(t, e.do("POST", path, e.key, []any{seg(), seg("end_time", 0.5)}), "body", "1", "end_time")
		wantField(t, e.do("POST", path, e.key, body()), "body", "segments")
		wantField(t, e.do("POST", path, e.key, map[string]any{}), "body", "segments")
		wantField(t, e.do("POST", path, e.key, `{"segments": 3}`), "body", "segments")
		wantField(t, e.do("POST", path, e.key, `[1, 2]`), "body", "0")
		// Nothing of a refused write was stored.
		r := e.do("GET", path, e.key, nil)
		wantStatus(t, r, 200)
		if strings.TrimSpace(string(r.Body)) != "[]" {
			t.Fatalf("a refused write stored segments: %s", r.Body)
		}
	})
}

func TestSessionsNotFound(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, ctx, other := f.e, f.ctx, f.other

		routes := []struct{ method, suffix string }{
			{"GET", ""}, {"GET", "/transcript"}, {"GET", "/transcript?include_segments=true"}, {"GET", "/segments"},
			{"POST", "/segments"}, {"POST", "/end"}, {"GET", "/export"}, {"GET", "/export?format=text"},
			{"GET", "/translation"}, {"GET", "/progressive-analysis"}, {"GET", "/entity-evolution"},
			{"GET", "/classification-evolution"}, {"GET", "/processing"},
		}
		valid := map[string]any{"segments": []map[string]any{{"start_time": 0, "end_time": 1, "text": "x"}}}
		for _, ref := range []string{"no-such-call", "theirs-1"} {
			for _, rt := range routes {
				var body any
				if rt.method == "POST" && strings.HasPrefix(rt.suffix, "/segments") {
					body = valid
				}
				r := e.do(rt.method, "/api/v1/calls/"+ref+rt.suffix, e.key, body)
				wantStatus(t, r, 404)
				if m := r.json(t); m["detail"] != "Call session not found" {
					t.Fatalf("%s %s: detail = %v", rt.method, rt.suffix, m["detail"])
				}
			}
		}
		// Their call is untouched by our attempts.
		theirs, err := e.store.Call(ctx, other.ID, "theirs-1")
		must(t, err)
		segs, err := e.store.Segments(ctx, theirs.ID)
		must(t, err)
		if theirs.Status != callscope.CallInProgress || len(segs) != 0 {
			t.Fatalf("another tenant's call changed: %+v %v", theirs, segs)
		}
	})
}

// TestListCallsSearch checks the listing's filters, search and orders.
func TestListCallsSearch(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			base := time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC)
			for i := 0; i < 5; i++ {
				r := e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": fmt.Sprintf("c%d", i),
					"start_time": base.Add(time.Duration(4-i) * time.Hour)})
				wantStatus(t, r, 201)
			}
			r := e.do("POST", "/api/v1/calls/c1/segments", e.key, map[string]any{"segments": []map[string]any{
				{"start_time": 0, "end_time": 42, "text": "My CHILD is missing"}}})
			wantStatus(t, r, 200)
			r = e.do("POST", "/api/v1/calls/c3/segments", e.key, map[string]any{"segments": []map[string]any{
				{"start_time": 0, "end_time": 7, "text": "school fees for my child"}}})
			wantStatus(t, r, 200)
			for _, id := range []string{"c1", "c3"} {
				wantStatus(t, e.do("POST", "/api/v1/calls/"+id+"/end", e.key, nil), 200)
			}
			list := func(query string) ([]string, map[string]any) {
				t.Helper()
				r := e.do("GET", "/api/v1/calls?"+query, e.key, nil)
				wantStatus(t, r, 200)
				m := r.json(t)
				ids := []string{}
				for _, c := range m["calls"].([]any) {
					ids = append(ids, c.(map[string]any)["call_id"].(string))
				}
				return ids, m
			}
			for _, c := range []struct {
				query string
				want  []string
			}{
				{"", []string{"c4", "c3", "c2", "c1", "c0"}},
				{"order=asc", []string{"c0", "c1", "c2", "c3", "c4"}},
				{"q=child", []string{"c3", "c1"}},
				{"q=Missing&status=completed", []string{"c1"}},
				{"sort=start_time&order=asc", []string{"c4", "c3", "c2", "c1", "c0"}},
				{"from=2025-10-01T09:00:00Z&to=2025-10-01T11:00:00Z", []string{"c3", "c2"}},
				{"sort=start_time&limit=2&offset=2", []string{"c2", "c3"}},
			} {
				if got, _ := list(c.query); !reflect.DeepEqual(got, c.want) {
					t.Fatalf("?%s = %v, want %v", c.query, got, c.want)
				}
			}
			// Both ended now, so the one that started earlier ran longer.
			if got, _ := list("sort=duration&status=completed"); !reflect.DeepEqual(got, []string{"c3", "c1"}) {
				t.Fatalf("by duration = %v, want c3 (started earlier) first", got)
			}
			_, m := list("sort=duration&limit=2")
			if m["next_offset"] != 2.0 || m["next_cursor"] != nil {
				t.Fatalf("offset paging: next_offset %v next_cursor %v", m["next_offset"], m["next_cursor"])
			}
			_, m = list("limit=2")
			if m["next_cursor"] == nil || m["next_offset"] != nil {
				t.Fatalf("cursor paging: next_offset %v next_cursor %v", m["next_offset"], m["next_cursor"])
			}
			for _, c := range []struct{ query, param string }{
				{"from=yesterday", "from"}, {"to=2025-13-01T00:00:00Z", "to"},
				{"from=2025-10-02T00:00:00Z&to=2025-10-01T00:00:00Z", "to"},
				{"sort=name", "sort"}, {"order=up", "order"}, {"offset=-1", "offset"}, {"offset=5", "offset"},
				{"sort=duration&cursor=abc", "cursor"}, {"q=" + strings.Repeat("a", 201), "q"},
			} {
				wantField(t, e.do("GET", "/api/v1/calls?"+c.query, e.key, nil), "query", c.param)
			}
		})
	}
}
