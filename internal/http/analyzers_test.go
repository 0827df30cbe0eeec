package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
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

// mkConsoleCall stores a call of the env's tenant with the given external
// ids (kind:value) and, when transcript is set, its segments.
func mkConsoleCall(t *testing.T, e *env, tenantID string, transcript bool, ext ...string) *callscope.Call {
	t.Helper()
	c := &callscope.Call{TenantID: tenantID, From: "+15551234567", To: "+15559876543", Status: callscope.CallCompleted}
	for _, x := range ext {
		kind, value, _ := strings.Cut(x, ":")
		c.ExternalIDs = append(c.ExternalIDs, callscope.ExternalID{Kind: kind, Value: value})
	}
	must(t, e.store.CreateCall(context.Background(), c))
	if transcript {
		must(t, e.store.PutSegments(context.Background(), c.ID, consoleTranscript))
	}
	return c
}

// otherKey returns the API key of a second tenant.
func otherKey(t *testing.T, e *env) string {
	t.Helper()
	tn := sqlstoretest.MustTenant(t, e.store)
	_, key, err := e.store.CreateAPIKey(context.Background(), tn.ID, "", false)
	must(t, err)
	return key
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

// TestConsoleCalls checks the list and details answers field by field
// against seed 003's Call and CallDetails.
func TestConsoleCalls(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			sid := "CA0123456789abcdef0123456789abcdef"
			older := mkConsoleCall(t, e, e.tenant.ID, false, "pbx:1761295415.12887")
			twilio := mkConsoleCall(t, e, e.tenant.ID, true, "pbx:1761295499.1", "twilio:"+sid)
			must(t, e.store.CreateRecording(ctx, &callscope.Recording{TenantID: e.tenant.ID, CallID: twilio.ID, Format: "mp3",
				ContentType: "audio/mpeg", StorageKey: "x.mp3"}))
			bare := mkConsoleCall(t, e, e.tenant.ID, false)

			r := e.do("GET", "/api/calls", e.key, nil)
			wantStatus(t, r, 200)
			list := r.list(t)
			if len(list) != 3 {
				t.Fatalf("list = %s", r.Body)
			}
			for i, c := range []*callscope.Call{bare, twilio, older} { // newest first
				wantExactKeys(t, "Call", list[i], "id", "from_to_number", "call_sid", "has_recording", "created_at")
				if list[i]["id"] != c.ID {
					t.Fatalf("list[%d].id = %v, want %s", i, list[i]["id"], c.ID)
				}
				if list[i]["from_to_number"] != "+15551234567 -> +15559876543" {
					t.Fatalf("from_to_number = %v", list[i]["from_to_number"])
				}
				if _, err := time.Parse(time.RFC3339Nano, list[i]["created_at"].(string)); err != nil {
					t.Fatalf("created_at: %v", err)
				}
			}
			if list[0]["call_sid"] != "" || list[1]["call_sid"] != sid || list[2]["call_sid"] != "1761295415.12887" {
				t.Fatalf("call_sid = %v, %v, %v", list[0]["call_sid"], list[1]["call_sid"], list[2]["call_sid"])
			}
			if list[0]["has_recording"] != false || list[1]["has_recording"] != true || list[2]["has_recording"] != false {
				t.Fatalf("has_recording wrong: %s", r.Body)
			}

			t.Run("Pages", func(t *testing.T) {
				r := e.do("GET", "/api/calls?limit=2", e.key, nil)
				wantStatus(t, r, 200)
				next := r.Header.Get("X-Next-Cursor")
				if got := r.list(t); len(got) != 2 || next != twilio.ID || !strings.Contains(r.Header.Get("Link"), `rel="next"`) {
					t.Fatalf("page 1: %d calls, next %q, link %q", len(got), next, r.Header.Get("Link"))
				}
				r = e.do("GET", "/api/calls?limit=2&cursor="+next, e.key, nil)
				wantStatus(t, r, 200)
				if got := r.list(t); len(got) != 1 || got[0]["id"] != older.ID || r.Header.Get("X-Next-Cursor") != "" {
					t.Fatalf("page 2: %s (next %q)", r.Body, r.Header.Get("X-Next-Cursor"))
				}
				r = e.do("GET", "/api/calls?limit=1&offset=2", e.key, nil)
				wantStatus(t, r, 200)
				if got := r.list(t); len(got) != 1 || got[0]["id"] != older.ID {
					t.Fatalf("offset page: %s", r.Body)
				}
				wantField(t, e.do("GET", "/api/calls?limit=0", e.key, nil), "query", "limit")
				wantField(t, e.do("GET", "/api/calls?offset=-1", e.key, nil), "query", "offset")
				wantField(t, e.do("GET", "/api/calls?offset=1&cursor="+next, e.key, nil), "query", "cursor")
			})

			t.Run("Details", func(t *testing.T) {
				sentiment := createAnalyzer(t, e, map[string]any{"name": "Sentiment Analyzer", "kind": "builtin", "prompt": "summary"})
				gone := createAnalyzer(t, e, map[string]any{"name": "Compliance", "kind": "builtin", "prompt": "keywords: refund"})
				add := func(a map[string]any, text string) {
					must(t, e.store.AppendAnalyzerRun(ctx, &callscope.AnalyzerRun{TenantID: e.tenant.ID, CallID: twilio.ID,
						AnalyzerID: a["id"].(string), AnalyzerName: a["name"].(string), AnalyzerVersion: 1, AnalysisText: text}))
				}
				add(gone, "No compliance issues found.")
				add(sentiment, "Positive.")
				add(gone, "Still no compliance issues.")
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+gone["id"].(string), e.key, nil), 204)
				wantStatus(t, e.do("PATCH", "/api/analyzers/"+sentiment["id"].(string), e.key, map[string]any{"name": "Mood"}), 200)

				for _, ref := range []string{twilio.ID, sid, "1761295499.1"} {
					r := e.do("GET", "/api/calls/"+ref, e.key, nil)
					wantStatus(t, r, 200)
					m := r.json(t)
					wantExactKeys(t, "CallDetails", m, "id", "from_to_number", "call_sid", "has_recording", "created_at",
						"transcription", "analysis_groups")
					if m["id"] != twilio.ID || m["call_sid"] != sid || m["has_recording"] != true ||
						m["from_to_number"] != "+15551234567 -> +15559876543" {
						t.Fatalf("details of %s: %s", ref, r.Body)
					}
					want := "agent: Thank you for calling, how can I help?\ncaller: I want a refund for my order, please.\n" +
						"agent: I will send you the refund form tomorrow."
					if m["transcription"] != want {
						t.Fatalf("transcription = %q, want %q", m["transcription"], want)
					}
					groups := m["analysis_groups"].([]any)
					if len(groups) != 2 {
						t.Fatalf("analysis_groups = %v", groups)
					}
					g0, g1 := groups[0].(map[string]any), groups[1].(map[string]any)
					wantExactKeys(t, "CallAnalysisGroup", g0, "analyzer_id", "analyzer_name", "runs")
					// A deleted analyzer's runs stay under their recorded
					// name; a renamed one shows its name now.
					if g0["analyzer_id"] != gone["id"] || g0["analyzer_name"] != "Compliance" ||
						g1["analyzer_id"] != sentiment["id"] || g1["analyzer_name"] != "Mood" {
						t.Fatalf("groups = %v", groups)
					}
					runs := g0["runs"].([]any)
					if len(runs) != 2 {
						t.Fatalf("runs = %v", runs)
					}
					r0 := runs[0].(map[string]any)
					wantExactKeys(t, "CallAnalysisRun", r0, "id", "analysis_text", "created_at")
					if r0["analysis_text"] != "No compliance issues found." || runs[1].(map[string]any)["analysis_text"] != "Still no compliance issues." {
						t.Fatalf("runs out of order: %v", runs)
					}
				}
				r := e.do("GET", "/api/calls/"+older.ID, e.key, nil)
				wantStatus(t, r, 200)
				m := r.json(t)
				if m["transcription"] != nil || len(m["analysis_groups"].([]any)) != 0 || m["has_recording"] != false {
					t.Fatalf("call without transcript: %s", r.Body)
				}
				wantStatus(t, e.do("GET", "/api/calls/nope", e.key, nil), 404)
			})

			t.Run("OtherTenant", func(t *testing.T) {
				other := otherKey(t, e)
				r := e.do("GET", "/api/calls", other, nil)
				wantStatus(t, r, 200)
				if len(r.list(t)) != 0 {
					t.Fatalf("another tenant sees calls: %s", r.Body)
				}
				for _, p := range []string{"/api/calls/" + twilio.ID, "/api/calls/" + sid, "/api/calls/" + twilio.ID + "/recording"} {
					wantStatus(t, e.do("GET", p, other, nil), 404)
				}
				wantStatus(t, e.do("POST", "/api/calls/"+twilio.ID+"/rerun", other, nil), 404)
				wantStatus(t, e.do("GET", "/api/calls", "", nil), 401)
			})
		})
	}
}

func TestConsoleRecording(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			put := func(c *callscope.Call, format, ct string, body []byte) {
				key := c.TenantID + "/" + c.ID + "/" + callscope.NewID() + "." + format
				n, err := e.server.Recordings.Put(ctx, key, bytes.NewReader(body))
				must(t, err)
				must(t, e.store.CreateRecording(ctx, &callscope.Recording{TenantID: c.TenantID, CallID: c.ID, Format: format,
					ContentType: ct, StorageKey: key, SizeBytes: n}))
			}
			mp3 := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0xff, 0xfb, 0x90, 0x64}, 64)...)
			wav := append([]byte("RIFF\x00\x00\x00\x00WAVE"), bytes.Repeat([]byte{1, 2}, 64)...)

			both := mkConsoleCall(t, e, e.tenant.ID, false, "twilio:CA0123456789abcdef0123456789abcdef")
			put(both, "wav", "audio/wav", wav) // first, yet the MP3 is preferred
			put(both, "mp3", "application/octet-stream", mp3)
			onlyWAV := mkConsoleCall(t, e, e.tenant.ID, false)
			put(onlyWAV, "wav", "audio/wav", wav)
			none := mkConsoleCall(t, e, e.tenant.ID, false)

			r := e.do("GET", "/api/calls/CA0123456789abcdef0123456789abcdef/recording", e.key, nil)
			wantStatus(t, r, 200)
			if ct := r.Header.Get("Content-Type"); ct != "audio/mpeg" || !bytes.Equal(r.Body, mp3) {
				t.Fatalf("Content-Type %q, %d bytes", ct, len(r.Body))
			}
			if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "CA0123456789abcdef0123456789abcdef.mp3") {
				t.Fatalf("Content-Disposition = %q", cd)
			}
			r = e.do("GET", "/api/calls/"+both.ID+"/recording", e.key, nil, "Range", "bytes=3-9")
			wantStatus(t, r, 206)
			if !bytes.Equal(r.Body, mp3[3:10]) || r.Header.Get("Content-Range") != fmt.Sprintf("bytes 3-9/%d", len(mp3)) {
				t.Fatalf("range: %q %q", r.Body, r.Header.Get("Content-Range"))
			}
			r = e.do("GET", "/api/calls/"+both.ID+"/recording", e.key, nil, "Range", fmt.Sprintf("bytes=%d-", len(mp3)+10))
			wantStatus(t, r, 416)

			r = e.do("GET", "/api/calls/"+onlyWAV.ID+"/recording", e.key, nil)
			wantStatus(t, r, 200)
			if ct := r.Header.Get("Content-Type"); ct != "audio/wav" || !bytes.Equal(r.Body, wav) {
				t.Fatalf("WAV: Content-Type %q", ct)
			}
			wantStatus(t, e.do("GET", "/api/calls/"+none.ID+"/recording", e.key, nil), 404)
			wantStatus(t, e.do("GET", "/api/calls/nope/recording", e.key, nil), 404)
			wantStatus(t, e.do("GET", "/api/calls/"+both.ID+"/recording", otherKey(t, e), nil), 404)
		})
	}
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
		func(a job.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
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

// backfillCalls stores n calls with transcripts (and one without, which a
// backfill skips) and returns their ids.
func backfillCalls(t *testing.T, e *env, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		ids = append(ids, mkConsoleCall(t, e, e.tenant.ID, true).ID)
	}
	mkConsoleCall(t, e, e.tenant.ID, false)
	return ids
}

func getBackfill(t *testing.T, e *env, analyzerID, id string) map[string]any {
	t.Helper()
	r := e.do("GET", "/api/analyzers/"+analyzerID+"/backfills/"+id, e.key, nil)
	wantStatus(t, r, 200)
	return r.json(t)
}

// runsPerCall counts the analyzer's runs on each call.
func runsPerCall(t *testing.T, e *env, analyzerID string, calls []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, c := range calls {
		for _, r := range runsOf(t, e, c) {
			if r.AnalyzerID == analyzerID {
				out[c]++
			}
		}
	}
	return out
}

func TestBackfill(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			calls := backfillCalls(t, e, 7)
			a := createAnalyzer(t, e, map[string]any{"name": "Refunds", "kind": "builtin", "prompt": "keywords: refund", "active": false})
			aid := a["id"].(string)

			r := e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, map[string]any{})
			wantStatus(t, r, 202)
			b := r.json(t)
			wantExactKeys(t, "Backfill", b, "id", "analyzer_id", "status", "filter", "total", "done", "failed_count", "percent",
				"last_error", "created_at", "started_at", "finished_at", "cancelled_at")
			if b["status"] != "queued" || b["total"] != float64(7) || b["analyzer_id"] != aid {
				t.Fatalf("backfill = %s", r.Body)
			}
			bid := b["id"].(string)
			waitFor(t, "the backfill to complete", func() bool { return getBackfill(t, e, aid, bid)["status"] == "completed" })
			b = getBackfill(t, e, aid, bid)
			if b["done"] != float64(7) || b["failed_count"] != float64(0) || b["percent"] != float64(100) ||
				b["started_at"] == nil || b["finished_at"] == nil || b["cancelled_at"] != nil {
				t.Fatalf("completed backfill = %v", b)
			}
			for c, n := range runsPerCall(t, e, aid, calls) {
				if n != 1 {
					t.Fatalf("call %s has %d runs", c, n)
				}
			}
			if got := runsPerCall(t, e, aid, calls); len(got) != 7 {
				t.Fatalf("runs on %d calls, want 7", len(got))
			}

			t.Run("Filter", func(t *testing.T) {
				r := e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, map[string]any{"limit": 3, "status": []string{"completed"},
					"from": "2000-01-01T00:00:00Z", "to": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
				wantStatus(t, r, 202)
				b := r.json(t)
				if b["total"] != float64(3) || b["filter"].(map[string]any)["limit"] != float64(3) {
					t.Fatalf("filtered backfill = %s", r.Body)
				}
				id := b["id"].(string)
				waitFor(t, "the filtered backfill", func() bool { return getBackfill(t, e, aid, id)["status"] == "completed" })
				if got := getBackfill(t, e, aid, id); got["done"] != float64(3) {
					t.Fatalf("filtered backfill = %v", got)
				}
				// The three newest calls got a second run, the others not.
				per := runsPerCall(t, e, aid, calls)
				for i, c := range calls {
					want := 1
					if i >= len(calls)-3 {
						want = 2
					}
					if per[c] != want {
						t.Fatalf("call %d has %d runs, want %d", i, per[c], want)
					}
				}
				r = e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, map[string]any{"status": []string{"failed"}})
				wantStatus(t, r, 202)
				if r.json(t)["total"] != float64(0) {
					t.Fatalf("no failed calls, yet %s", r.Body)
				}
			})
			t.Run("ErrInvalid", func(t *testing.T) {
				p := "/api/analyzers/" + aid + "/backfill"
				wantField(t, e.do("POST", p, e.key, map[string]any{"from": "yesterday"}), "body", "from")
				wantField(t, e.do("POST", p, e.key, map[string]any{"from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}), "body", "to")
				wantField(t, e.do("POST", p, e.key, map[string]any{"status": []string{"done"}}), "body", "status", "0")
				wantField(t, e.do("POST", p, e.key, map[string]any{"limit": 0}), "body", "limit")
			})
			t.Run("List", func(t *testing.T) {
				r := e.do("GET", "/api/analyzers/"+aid+"/backfills", e.key, nil)
				wantStatus(t, r, 200)
				l := r.list(t)
				if len(l) != 3 || l[2]["id"] != bid {
					t.Fatalf("backfills = %s", r.Body)
				}
			})
			t.Run("ErrConflict/CancelFinished", func(t *testing.T) {
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+aid+"/backfills/"+bid, e.key, nil), 409)
			})
			t.Run("ErrNotFound", func(t *testing.T) {
				other := createAnalyzer(t, e, map[string]any{"name": "Other", "kind": "builtin", "prompt": "qa"})
				wantStatus(t, e.do("GET", "/api/analyzers/"+other["id"].(string)+"/backfills/"+bid, e.key, nil), 404)
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+other["id"].(string)+"/backfills/"+bid, e.key, nil), 404)
				wantStatus(t, e.do("GET", "/api/analyzers/"+aid+"/backfills/nope", e.key, nil), 404)
				wantStatus(t, e.do("POST", "/api/analyzers/nope/backfill", e.key, map[string]any{}), 404)
				ok := otherKey(t, e)
				wantStatus(t, e.do("GET", "/api/analyzers/"+aid+"/backfills/"+bid, ok, nil), 404)
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+aid+"/backfills/"+bid, ok, nil), 404)
			})
		})
	}
}

// TestBackfillCancel cancels a backfill while a call is being analysed:
// that call's run is dropped and no further call is analysed.
func TestBackfillCancel(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			g := newGate(3)
			q := swapQueue(t, e, g.For)
			calls := backfillCalls(t, e, 10)
			aid := createAnalyzer(t, e, map[string]any{"name": "Summary", "kind": "builtin", "prompt": "summary"})["id"].(string)
			r := e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, nil)
			wantStatus(t, r, 202)
			bid := r.json(t)["id"].(string)
			select {
			case <-g.blocked:
			case <-time.After(30 * time.Second):
				t.Fatal("the backfill never reached its fourth call")
			}
			b := getBackfill(t, e, aid, bid)
			if b["status"] != "running" || b["done"] != float64(3) || b["percent"] != float64(30) {
				t.Fatalf("running backfill = %v", b)
			}
			r = e.do("DELETE", "/api/analyzers/"+aid+"/backfills/"+bid, e.key, nil)
			wantStatus(t, r, 200)
			if m := r.json(t); m["status"] != "cancelled" || m["cancelled_at"] == nil {
				t.Fatalf("cancel = %s", r.Body)
			}
			close(g.release)
			stop, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			must(t, q.Stop(stop)) // waits for the job to return
			b = getBackfill(t, e, aid, bid)
			if b["status"] != "cancelled" || b["done"] != float64(3) {
				t.Fatalf("cancelled backfill = %v", b)
			}
			if n := len(runsPerCall(t, e, aid, calls)); n != 3 {
				t.Fatalf("%d calls got runs, want 3", n)
			}
			if n := g.count(); n != 4 {
				t.Fatalf("engine ran %d times after the cancel, want 4 in all", n)
			}
			wantStatus(t, e.do("DELETE", "/api/analyzers/"+aid+"/backfills/"+bid, e.key, nil), 409)
		})
	}
}

// TestBackfillResume stops the worker process mid-backfill and starts
// another: it picks up after the last call finished, and no call gets two
// runs.
func TestBackfillResume(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			g := newGate(5)
			q := swapQueue(t, e, g.For)
			calls := backfillCalls(t, e, 9)
			aid := createAnalyzer(t, e, map[string]any{"name": "Summary", "kind": "builtin", "prompt": "summary"})["id"].(string)
			r := e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, nil)
			wantStatus(t, r, 202)
			bid := r.json(t)["id"].(string)
			select {
			case <-g.blocked:
			case <-time.After(30 * time.Second):
				t.Fatal("the backfill never reached its sixth call")
			}
			// Stop the process: the call in progress is abandoned.
			stop, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			q.Stop(stop)
			cancel()
			b := getBackfill(t, e, aid, bid)
			if b["status"] != "running" || b["done"] != float64(5) {
				t.Fatalf("stopped backfill = %v", b)
			}

			again := newGate(-1)
			swapQueue(t, e, again.For)
			waitFor(t, "the resumed backfill", func() bool { return getBackfill(t, e, aid, bid)["status"] == "completed" })
			b = getBackfill(t, e, aid, bid)
			if b["done"] != float64(9) || b["failed_count"] != float64(0) {
				t.Fatalf("resumed backfill = %v", b)
			}
			if n := again.count(); n != 4 {
				t.Fatalf("the restarted worker analysed %d calls, want the 4 left", n)
			}
			per := runsPerCall(t, e, aid, calls)
			if len(per) != 9 {
				t.Fatalf("runs on %d calls, want 9", len(per))
			}
			for c, n := range per {
				if n != 1 {
					t.Fatalf("call %s has %d runs", c, n)
				}
			}
		})
	}
}

// TestConsoleOpenAPI holds the documented schemas of the seed 003 answers
// to the fields the handlers send.
func TestConsoleOpenAPI(t *testing.T) {
	e := newEnv(t, sqlstore.SQLite)
	r := e.do("GET", "/openapi.json", "", nil)
	wantStatus(t, r, 200)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Required   []string       `json:"required"`
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	must(t, json.Unmarshal(r.Body, &doc))
	c := mkConsoleCall(t, e, e.tenant.ID, true)
	a := createAnalyzer(t, e, map[string]any{"name": "Summary", "kind": "builtin", "prompt": "summary"})
	must(t, e.store.AppendAnalyzerRun(context.Background(), &callscope.AnalyzerRun{TenantID: e.tenant.ID, CallID: c.ID,
		AnalyzerID: a["id"].(string), AnalyzerName: "Summary", AnalysisText: "x"}))
	details := e.do("GET", "/api/calls/"+c.ID, e.key, nil).json(t)
	group := details["analysis_groups"].([]any)[0].(map[string]any)
	rerun := e.do("POST", "/api/calls/"+c.ID+"/rerun", e.key, nil).json(t)
	backfill := e.do("POST", "/api/analyzers/"+a["id"].(string)+"/backfill", e.key, nil).json(t)
	for name, answer := range map[string]map[string]any{
		"ConsoleCall":        e.do("GET", "/api/calls", e.key, nil).list(t)[0],
		"ConsoleCallDetails": details,
		"CallAnalysisGroup":  group,
		"CallAnalysisRun":    group["runs"].([]any)[0].(map[string]any),
		"RerunQueued":        rerun,
		"Analyzer":           a,
		"Backfill":           backfill,
		"BackfillFilter":     backfill["filter"].(map[string]any),
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("components/schemas has no %s", name)
			continue
		}
		var props []string
		for k := range s.Properties {
			props = append(props, k)
		}
		sort.Strings(props)
		var keys []string
		for k := range answer {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if name != "BackfillFilter" && !reflect.DeepEqual(props, keys) {
			t.Errorf("%s documents %v, the answer has %v", name, props, keys)
		}
		for _, k := range s.Required {
			if _, ok := answer[k]; !ok {
				t.Errorf("%s requires %q, the answer lacks it", name, k)
			}
		}
	}
}
