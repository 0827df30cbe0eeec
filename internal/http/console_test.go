package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

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
