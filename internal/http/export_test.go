package http_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/sqlstore"
)

func TestSessionsExportJSON(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, now, start, id, wantSegs, wantTranscript, c := f.e, f.now, f.start, f.id, f.wantSegs, f.wantTranscript, f.c
		f.end(t)

		for _, path := range []string{"/export", "/export?format=json", "/export?format=JSON"} {
			r := e.do("GET", "/api/v1/calls/"+id+path, e.key, nil)
			wantStatus(t, r, 200)
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q", ct)
			}
			m := r.json(t)
			wantKeys(t, "export", m, "call_id", "metadata", "transcription", "translation", "entities", "classification", "summary",
				"insights", "processing_info")
			want := map[string]any{
				"start_time": start.Format(time.RFC3339Nano), "end_time": now.Format(time.RFC3339Nano), "duration": 95.0, "status": "completed"}
			if !reflect.DeepEqual(m["metadata"], want) {
				t.Fatalf("metadata = %v\nwant %v", m["metadata"], want)
			}
			tr := m["transcription"].(map[string]any)
			if m["call_id"] != id || tr["original"] != wantTranscript || tr["language"] != "sw" ||
				!reflect.DeepEqual(m["translation"], map[string]any{"translated": c.Translation, "language": "en"}) ||
				m["classification"].(map[string]any)["category"] != "child_protection" ||
				len(m["entities"].([]any)) != 3 || !reflect.DeepEqual(m["insights"], map[string]any{"risk": "high"}) ||
				m["summary"].(map[string]any)["text"] == nil || m["processing_info"].(map[string]any)["processing_status"] != "pending" {
				t.Fatalf("export = %s", r.Body)
			}
			var segs struct {
				Segments []segmentJSON `json:"segments"`
			}
			decodeAs(t, r, &segs)
			if !reflect.DeepEqual(segs.Segments, wantSegs) {
				t.Fatalf("exported segments = %+v", segs.Segments)
			}
		}
		// Without results every result block is an empty object.
		r := e.do("GET", "/api/v1/calls/done-1/export", e.key, nil)
		wantStatus(t, r, 200)
		m := r.json(t)
		for _, k := range []string{"entities", "classification", "summary", "insights", "processing_info"} {
			if v, ok := m[k].(map[string]any); !ok || len(v) != 0 {
				t.Fatalf("%s = %v, want {}", k, m[k])
			}
		}
		wantField(t, e.do("GET", "/api/v1/calls/"+id+"/export?format=xml", e.key, nil), "query", "format")
	})
}

func TestSessionsExportText(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, id, c := f.e, f.id, f.c
		f.end(t)

		r := e.do("GET", "/api/v1/calls/"+id+"/export?format=text", e.key, nil)
		wantStatus(t, r, 200)
		if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Fatalf("Content-Type = %q", ct)
		}
		want := []string{
			"=== CALL EXPORT ===",
			"Call ID: " + id,
			"Date: 2025-10-24T08:58:25Z",
			"Duration: 95 seconds",
			"Status: completed",
			"",
			"--- ORIGINAL TRANSCRIPT (Swahili) ---",
			"[00:00] caller: Habari yako",
			`[00:03] agent: Karibu, "116" helpline.`,
			"[00:06] caller: Mtoto wangu Amina amepotea Kibera.",
			"[00:09] agent: Pole sana.",
			"",
			"--- ENGLISH TRANSLATION ---",
			c.Translation,
			"",
			"--- NAMED ENTITIES ---",
			"Persons: Amina",
			"Locations: Kibera",
			"",
			"--- SUMMARY ---",
			"Caller reports her child Amina missing in Kibera.",
			"",
			"=== END OF EXPORT ===",
			"",
		}
		got := strings.Split(string(r.Body), "\n")
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Fatalf("line %d = %q, want %q\n%s", i+1, g, w, r.Body)
			}
		}
		// Empty sections say so.
		r = e.do("GET", "/api/v1/calls/done-1/export?format=text", e.key, nil)
		wantStatus(t, r, 200)
		for _, line := range []string{"--- ORIGINAL TRANSCRIPT (Unknown) ---\n(none)\n", "Persons: (none)\nLocations: (none)\n", "--- SUMMARY ---\n(none)\n"} {
			if !strings.Contains(string(r.Body), line) {
				t.Fatalf("empty export lacks %q:\n%s", line, r.Body)
			}
		}
	})
}

// TestExportDurationOfAnUntimedCall exports a call that never ended (so
// has no timed duration): the export reports the transcript's length, not
// zero.
func TestExportDurationOfAnUntimedCall(t *testing.T) {
	e := newEnv(t, sqlstore.SQLite)
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, `{"call_id":"untimed-0001","status":"completed"}`), 201)
	wantStatus(t, e.do("POST", "/api/v1/calls/untimed-0001/segments", e.key,
		`[{"speaker":"caller","start_time":0.4,"end_time":3.1,"text":"Hello there"},{"speaker":"agent","start_time":3.2,"end_time":5.9,"text":"Hi, how can I help?"}]`), 200)
	r := e.do("GET", "/api/v1/calls/untimed-0001/export?format=text", e.key, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.Body), "Duration: 5.9 seconds") {
		t.Fatalf("text export:\n%s", r.Body)
	}
	r = e.do("GET", "/api/v1/calls/untimed-0001/export", e.key, nil)
	if m := r.json(t)["metadata"].(map[string]any); m["duration"] != 5.9 {
		t.Fatalf("json export metadata = %v", m)
	}
}
