package http_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// firstResults is a realistic first results payload of a voice-bot call.
const firstResults = `{
  "session_id": "sess-7f3a91",
  "stream_id": "MZ18ad3ab5a668481ce02b83e7395059f0",
  "caller_id": "+254712345678",
  "from_number": "+254712345678",
  "call_duration_seconds": 184.5,
  "disconnected_by": "user",
  "call_direction": "inbound",
  "transcript": [
    {"role": "assistant", "content": "Good morning, you are through to Acme Energy. My name is Zawadi, how can I help?", "start_time": 0.6, "end_time": 5.2},
    {"role": "user", "content": "Hi, my token did not arrive after I paid two thousand shillings this morning.", "start_time": 5.9, "end_time": 10.4},
    {"role": "assistant", "content": "I am sorry about that. Can you give me the meter number?", "start_time": 10.9, "end_time": 13.8},
    {"role": "user", "content": "It is 0412 3344 5566.", "start_time": 14.3, "end_time": 17.0},
    {"role": "assistant", "content": "Thank you. I can see the payment; I have resent the token by SMS.", "start_time": 17.6, "end_time": 22.1},
    {"role": "user", "content": "Got it, thanks a lot. Bye.", "start_time": 22.8, "end_time": 24.5}
  ],
  "events": [{"type": "call_started", "at": "2025-10-24T08:43:35Z"}, {"type": "tool_call", "name": "resend_token"}],
  "intents": ["token_not_received"],
  "recording_url": "https://media.example.com/rec/sess-7f3a91.mp3",
  "recording_key": "recordings/2025/10/sess-7f3a91.mp3",
  "post_call_analysis": {"summary": "Customer's token was resent.", "sentiment": "positive", "resolved": true},
  "qc_analysis": {"greeting": 1, "verification": 1, "score": 0.92},
  "latency": {"p50_ms": 640, "p95_ms": 1210},
  "latency_samples": [612, 640, 701, 1210],
  "usage_metrics": {
    "post_call": {"prompt_tokens": 2400, "completion_tokens": 180, "prompt_tokens_details": {"cached_tokens": 2048}, "cost_usd": 0.0041},
    "qc": {"input_tokens": 350, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 1900, "output_tokens": 60, "status": "ok"}
  },
  "pipeline_config": {"llm": "gpt-4o-mini", "tts": "cartesia"},
  "connected_event": {"at": "2025-10-24T08:43:35Z", "agent": "zawadi"},
  "was_transferred": false,
  "transfer_target": null,
  "bot_version": "2.3.1"
}`

// secondResults is a later, partial payload for the same session.
const secondResults = `{
  "session_id": "sess-7f3a91",
  "caller_id": null,
  "disconnected_by": "voicemail",
  "post_call_analysis": {"summary": "Token resent; caller satisfied."},
  "connected_event": null,
  "recording_url": "https://media.example.com/rec/sess-7f3a91.mp3",
  "skip_post_push": true
}`

func jobKinds(t testing.TB, s *sqlstore.Store) map[string]int {
	t.Helper()
	k, err := job.JobKinds(context.Background(), s)
	must(t, err)
	return k
}

func TestCallResults(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			_, err := e.store.UpdateTenant(ctx, e.tenant.ID, callscope.TenantUpdate{Settings: &callscope.Settings{
				CRMPush: &callscope.CRMPushSetting{URL: "https://crm.example.com/hook"}, ProcessCallResults: true}})
			must(t, err)
			post := func(body string) response {
				return e.do("POST", "/api/v1/call-results", "", body, "X-CXBCore-Secret", resultsSecret)
			}

			r := post(firstResults)
			wantStatus(t, r, 200)
			if got := r.json(t); got["status"] != "ok" || got["session_id"] != "sess-7f3a91" {
				t.Fatalf("answer = %s", r.Body)
			}
			c, err := e.store.Call(ctx, e.tenant.ID, "sess-7f3a91")
			must(t, err)
			if c.Status != callscope.CallCompleted || c.From != "+254712345678" || c.DurationSeconds != 184.5 ||
				c.Direction != callscope.Inbound || c.CompletedAt == nil || c.DisconnectedBy != "user" {
				t.Fatalf("after first payload: %+v", c)
			}
			if byStream, err := e.store.Call(ctx, e.tenant.ID, "MZ18ad3ab5a668481ce02b83e7395059f0"); err != nil || byStream.ID != c.ID {
				t.Fatalf("call not found by stream_id: %v", err)
			}
			segs, err := e.store.Segments(ctx, c.ID)
			must(t, err)
			if len(segs) != 6 || segs[0].Speaker != "agent" || segs[1].Speaker != "caller" || segs[3].Text != "It is 0412 3344 5566." || segs[5].EndTime != 24.5 {
				t.Fatalf("segments = %+v", segs)
			}
			doc := results(t, c)
			token := doc["recording_access_token"].(string)
			if len(token) < 32 {
				t.Fatalf("minted token %q is shorter than 24 random bytes", token)
			}
			sum := doc["llm_cache_summary"].(map[string]any)
			for k, want := range map[string]float64{"cache_read_input_tokens": 2048, "cache_creation_input_tokens": 1900,
				"fresh_prompt_tokens": 352 + 350, "completion_tokens": 240} {
				if sum[k] != want {
					t.Errorf("cache summary %s = %v, want %v", k, sum[k], want)
				}
			}
			if sum["enabled"] != true || sum["worked"] != true {
				t.Errorf("cache summary = %v", sum)
			}
			if b, _ := json.Marshal(sum); bytes.Contains(b, []byte("cost")) || bytes.Contains(b, []byte("usd")) {
				t.Errorf("cache summary reports money: %s", b)
			}
			kinds := jobKinds(t, e.store)
			if kinds["campaign.reconcile"] != 1 || kinds["crm.push"] != 1 || kinds["call.process"] != 1 {
				t.Fatalf("fan-out after first payload = %v", kinds)
			}

			r = post(secondResults)
			wantStatus(t, r, 200)
			c2, err := e.store.Call(ctx, e.tenant.ID, "sess-7f3a91")
			must(t, err)
			doc2 := results(t, c2)
			checks := []struct {
				name string
				ok   bool
			}{
				{"status from disconnected_by=voicemail", c2.Status == callscope.CallVoicemail},
				{"caller_id kept (null never overwrites)", doc2["caller_id"] == "+254712345678"},
				{"from kept", c2.From == "+254712345678"},
				{"duration kept (absent never overwrites)", c2.DurationSeconds == 184.5},
				{"connected_event kept (null dropped)", fmt.Sprint(doc2["connected_event"]) == fmt.Sprint(doc["connected_event"])},
				{"post_call_analysis replaced", doc2["post_call_analysis"].(map[string]any)["summary"] == "Token resent; caller satisfied."},
				{"qc_analysis kept", doc2["qc_analysis"] != nil},
				{"unknown field kept", doc2["bot_version"] == "2.3.1"},
				{"recording token reused", doc2["recording_access_token"] == token},
				{"cache summary kept", doc2["llm_cache_summary"] != nil},
				{"same call", c2.ID == c.ID},
			}
			for _, ch := range checks {
				if !ch.ok {
					t.Errorf("after second payload: %s does not hold", ch.name)
				}
			}
			if segs2, _ := e.store.Segments(ctx, c.ID); len(segs2) != 6 {
				t.Errorf("transcript lost: %d segments", len(segs2))
			}
			recs, err := e.store.Recordings(ctx, c.ID)
			must(t, err)
			if len(recs) != 1 || recs[0].AccessToken != token || recs[0].ContentType != "audio/mpeg" {
				t.Fatalf("recordings = %+v", recs)
			}
			kinds = jobKinds(t, e.store)
			// Processing is asked for again, but never queued twice: a second
			// job exists only if the first had already finished.
			if kinds["campaign.reconcile"] != 2 || kinds["crm.push"] != 1 || kinds["call.process"] < 1 || kinds["call.process"] > 2 {
				t.Fatalf("fan-out after second payload = %v (skip_post_push must stop the CRM push)", kinds)
			}
			events, err := e.store.Events(ctx, e.tenant.ID, c.ID)
			must(t, err)
			var types []string
			for _, ev := range events {
				types = append(types, ev.Type)
			}
			// The status changed from completed to voicemail: receivers hear of it.
			if strings.Join(types, ",") != "transcription.ready,recording.ready,call.completed,call.completed" {
				t.Fatalf("events = %v", types)
			}
			var last map[string]any
			must(t, json.Unmarshal(events[3].Data, &last))
			if last["status"] != "voicemail" {
				t.Fatalf("last event = %s", events[3].Data)
			}

			t.Run("ReadThroughCallSessionsAPI", func(t *testing.T) {
				// The stored call, as every Call Sessions endpoint shows it
				// (seed 001 §3), by the session id it came with.
				base := "/api/v1/calls/sess-7f3a91"
				for _, tc := range []struct {
					path string
					keys []string
				}{
					{base, []string{"call_id", "start_time", "last_activity", "connection_info", "transcript_segments", "cumulative_transcript",
						"total_audio_duration", "segment_count", "status", "processing_mode", "processing_plan"}},
					{base + "/transcript?include_segments=true", []string{"call_id", "cumulative_transcript", "language", "segment_count", "total_duration", "segments"}},
					{base + "/export?format=json", []string{"call_id", "metadata", "transcription", "translation", "entities", "classification", "summary", "insights", "processing_info"}},
					{base + "/translation", []string{"call_id", "cumulative_translation", "language", "source_language", "translation_model"}},
					{base + "/progressive-analysis", []string{"call_id", "cumulative_translation", "translation_windows", "latest_entities", "latest_classification", "evolution_data"}},
					{base + "/processing", []string{"call_id", "processing_status", "current_stage", "stages_completed", "stages_remaining",
						"progress_percentage", "started_at", "estimated_completion", "errors", "pipeline_config"}},
				} {
					r := e.do("GET", tc.path, e.key, nil)
					wantStatus(t, r, 200)
					got := r.json(t)
					for _, k := range tc.keys {
						if _, ok := got[k]; !ok {
							t.Errorf("GET %s lacks %q: %s", tc.path, k, r.Body)
						}
					}
				}
				r := e.do("GET", base, e.key, nil)
				if got := r.json(t); got["status"] != "voicemail" || got["segment_count"] != float64(6) ||
					!strings.Contains(got["cumulative_transcript"].(string), "0412 3344 5566") {
					t.Errorf("session = %s", r.Body)
				}
				for _, path := range []string{base + "/segments", base + "/entity-evolution", base + "/classification-evolution"} {
					r := e.do("GET", path, e.key, nil)
					wantStatus(t, r, 200)
					var arr []any
					must(t, json.Unmarshal(r.Body, &arr))
					if path == base+"/segments" && len(arr) != 6 {
						t.Errorf("segments = %d", len(arr))
					}
				}
				r = e.do("GET", base+"/export?format=text", e.key, nil)
				wantStatus(t, r, 200)
				if !strings.HasPrefix(string(r.Body), "=== CALL EXPORT ===\nCall ID: sess-7f3a91\n") ||
					!strings.Contains(string(r.Body), "--- ORIGINAL TRANSCRIPT (") || !strings.HasSuffix(string(r.Body), "=== END OF EXPORT ===\n") {
					t.Errorf("text export = %s", r.Body)
				}
				for _, path := range []string{"/api/v1/calls/active", "/api/v1/calls/stats", "/api/v1/calls/processing/status"} {
					wantStatus(t, e.do("GET", path, e.key, nil), 200)
				}
			})

			t.Run("WrongSecretStoresNothing", func(t *testing.T) {
				before := jobKinds(t, e.store)
				wantStatus(t, e.do("POST", "/api/v1/call-results", "", strings.Replace(firstResults, "sess-7f3a91", "sess-other", 1), "X-CXBCore-Secret", "wrong"), 403)
				wantStatus(t, e.do("POST", "/api/v1/call-results", "", firstResults), 403)
				if _, err := e.store.Call(ctx, e.tenant.ID, "sess-other"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
					t.Fatalf("stored with a wrong secret: %v", err)
				}
				if after := jobKinds(t, e.store); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("jobs enqueued with a wrong secret: %v -> %v", before, after)
				}
			})
			t.Run("WrongTypesStoreNothing", func(t *testing.T) {
				r := post(`{"session_id": "sess-bad", "call_duration_seconds": "three minutes", "transcript": {"not": "a list"}}`)
				wantStatus(t, r, 422)
				var fields []string
				for _, x := range r.json(t)["detail"].([]any) {
					loc := x.(map[string]any)["loc"].([]any)
					fields = append(fields, fmt.Sprint(loc[len(loc)-1]))
				}
				if strings.Join(fields, ",") != "call_duration_seconds,transcript" {
					t.Fatalf("422 names %v", fields)
				}
				if _, err := e.store.Call(ctx, e.tenant.ID, "sess-bad"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
					t.Fatalf("stored despite 422: %v", err)
				}
			})
		})
	}
}

func results(t *testing.T, c *callscope.Call) map[string]any {
	t.Helper()
	var doc map[string]any
	must(t, json.Unmarshal(c.Raw["call_results"], &doc))
	return doc
}

// wav makes a mono 16-bit WAV of a tone.
func wav(seconds float64, rate int) []byte {
	n := int(seconds * float64(rate))
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := 0; i < n; i++ {
		binary.Write(&b, binary.LittleEndian, int16(8000*math.Sin(2*math.Pi*440*float64(i)/float64(rate))))
	}
	return b.Bytes()
}

func TestRecordingUploadAndRange(t *testing.T) {
	e := newEnv(t, "sqlite")
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "rec-1"}), 201)
	audio := wav(1.5, 8000)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "call.wav")
	fw.Write(audio)
	mw.Close()
	r := e.do("POST", "/api/v1/calls/rec-1/recording", e.key, body.Bytes(), "Content-Type", mw.FormDataContentType())
	wantStatus(t, r, 201)
	rec := r.json(t)
	if rec["format"] != "wav" || rec["content_type"] != "audio/wav" || rec["size_bytes"] != float64(len(audio)) || math.Abs(rec["duration_seconds"].(float64)-1.5) > 0.01 {
		t.Fatalf("upload answer = %s", r.Body)
	}
	url := rec["url"].(string)

	r = e.do("GET", url, "", nil, "Range", "bytes=100-199")
	wantStatus(t, r, 206)
	if !bytes.Equal(r.Body, audio[100:200]) || r.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(audio)) {
		t.Fatalf("range answer: %d bytes, Content-Range %q", len(r.Body), r.Header.Get("Content-Range"))
	}
	r = e.do("GET", url, "", nil)
	wantStatus(t, r, 200)
	etag := r.Header.Get("ETag")
	if !bytes.Equal(r.Body, audio) || r.Header.Get("Content-Type") != "audio/wav" || etag == "" {
		t.Fatalf("full answer: %d bytes, %v", len(r.Body), r.Header)
	}
	wantStatus(t, e.do("GET", url, "", nil, "If-None-Match", etag), 304)

	// A raw body works too; junk is refused.
	wantStatus(t, e.do("POST", "/api/v1/calls/rec-1/recording", e.key, audio, "Content-Type", "audio/wav"), 201)
	wantStatus(t, e.do("POST", "/api/v1/calls/rec-1/recording", e.key, "this is not audio at all, just some text", "Content-Type", "audio/wav"), 422)
	wantStatus(t, e.do("POST", "/api/v1/calls/rec-1/recording", e.key, nil), 422)

	// Rotation and revocation.
	recID := rec["id"].(string)
	r = e.do("POST", "/api/v1/calls/rec-1/recordings/"+recID+"/token", e.key, nil)
	wantStatus(t, r, 200)
	newURL := r.json(t)["url"].(string)
	wantStatus(t, e.do("GET", url, "", nil), 404)
	wantStatus(t, e.do("GET", newURL, "", nil), 200)
	wantStatus(t, e.do("DELETE", "/api/v1/calls/rec-1/recordings/"+recID+"/token", e.key, nil), 200)
	wantStatus(t, e.do("GET", newURL, "", nil), 404)
	wantStatus(t, e.do("GET", "/recordings/no-such-token", "", nil), 404)

	// Another tenant cannot touch it.
	other := sqlstoretest.MustTenant(t, e.store)
	_, key, _ := e.store.CreateAPIKey(context.Background(), other.ID, "", false)
	wantStatus(t, e.do("POST", "/api/v1/calls/rec-1/recordings/"+recID+"/token", key, nil), 404)
	wantStatus(t, e.do("GET", "/api/v1/calls/rec-1/recordings", key, nil), 404)
	r = e.do("GET", "/api/v1/calls/rec-1/recordings", e.key, nil)
	wantStatus(t, r, 200)
	if n := len(r.json(t)["recordings"].([]any)); n != 2 {
		t.Fatalf("recordings listed = %d", n)
	}
}

func TestRecordingProxy(t *testing.T) {
	media := wav(0.5, 8000)
	source := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x.wav", time.Time{}, bytes.NewReader(media))
	}))
	defer source.Close()
	payload := fmt.Sprintf(`{"session_id": "proxy-1", "recording_url": %q}`, source.URL+"/x.wav")

	t.Run("PrivateSourceRefusedByDefault", func(t *testing.T) {
		// Refused where it is written; connections are refused too (see
		// TestSSRFRecordingProxyConnectTime).
		e := newEnv(t, "sqlite")
		wantStatus(t, e.do("POST", "/api/v1/call-results", "", payload, "X-CXBCore-Secret", resultsSecret), 422)
	})
	t.Run("AllowedSourceStreamed", func(t *testing.T) {
		e := newEnv(t, "sqlite", func(s *cshttp.Server) { s.Egress.AllowPrivate = true })
		wantStatus(t, e.do("POST", "/api/v1/call-results", "", payload, "X-CXBCore-Secret", resultsSecret), 200)
		url := recordingURL(t, e, "proxy-1")
		r := e.do("GET", url, "", nil, "Range", "bytes=100-199")
		wantStatus(t, r, 206)
		if !bytes.Equal(r.Body, media[100:200]) || r.Header.Get("Content-Type") != "audio/wav" {
			t.Fatalf("proxied range: %d bytes %v", len(r.Body), r.Header)
		}
	})
}

func recordingURL(t *testing.T, e *env, call string) string {
	t.Helper()
	r := e.do("GET", "/api/v1/calls/"+call+"/recordings", e.key, nil)
	wantStatus(t, r, 200)
	recs := r.json(t)["recordings"].([]any)
	if len(recs) != 1 {
		t.Fatalf("recordings = %s", r.Body)
	}
	return recs[0].(map[string]any)["url"].(string)
}

func TestCDRs(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			// A live call already known with richer data.
			wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "1761295415.12887", "from": "+254711000111 (Amina)", "to": "116"}), 201)
			r := e.do("POST", "/api/v1/cdrs", e.key, `[
				{"uniqueid": "1761295415.12887", "linkedid": "1761295415.12887", "src": "0711000111", "dst": "116", "start": "2025-10-24 08:43:35",
				 "answer": "2025-10-24 08:43:41", "end": "2025-10-24 08:46:40", "duration": 185, "billsec": "179", "disposition": "ANSWERED", "channel": "PJSIP/trunk-0001"},
				{"uniqueid": "1761295415.12888", "linkedid": "1761295415.12887", "src": "116", "dst": "2001", "disposition": "ANSWERED", "billsec": 170},
				{"uniqueid": "1761299999.1", "src": "0722000222", "dst": "116", "start": "2025-10-24T09:00:00Z", "duration": "12", "disposition": "NO ANSWER"}
			]`)
			wantStatus(t, r, 200)
			out := r.json(t)
			if out["received"] != float64(3) {
				t.Fatalf("answer = %s", r.Body)
			}
			c, err := e.store.Call(ctx, e.tenant.ID, "1761295415.12887")
			must(t, err)
			if c.From != "+254711000111 (Amina)" || c.To != "116" || c.Status != callscope.CallCompleted || c.DurationSeconds != 185 ||
				c.StartedAt == nil || c.AnsweredAt == nil || c.AnsweredAt.Format("15:04:05") != "08:43:41" {
				t.Fatalf("merged call = %+v", c)
			}
			leg, err := e.store.Call(ctx, e.tenant.ID, "1761295415.12888")
			must(t, err)
			if leg.ID != c.ID {
				t.Fatal("second leg did not join the call by linkedid")
			}
			var kept []map[string]any
			must(t, json.Unmarshal(c.Raw["cdrs"], &kept))
			if len(kept) != 2 {
				t.Fatalf("kept CDRs = %d", len(kept))
			}
			missed, err := e.store.Call(ctx, e.tenant.ID, "1761299999.1")
			must(t, err)
			if missed.Status != callscope.CallNoAnswer || missed.From != "0722000222" || missed.DurationSeconds != 12 {
				t.Fatalf("created call = %+v", missed)
			}
			// Resending changes nothing.
			wantStatus(t, e.do("POST", "/api/v1/cdrs", e.key, `{"uniqueid": "1761299999.1", "src": "", "disposition": "ANSWERED"}`), 200)
			again, _ := e.store.Call(ctx, e.tenant.ID, "1761299999.1")
			if again.From != "0722000222" || again.Status != callscope.CallNoAnswer {
				t.Fatalf("a CDR blanked or overrode data: %+v", again)
			}
			r = e.do("POST", "/api/v1/cdrs", e.key, `[{"uniqueid": "x1", "start": "yesterday"}, {"src": "1"}]`)
			wantStatus(t, r, 422)
			if !strings.Contains(string(r.Body), `["body","0","start"]`) || !strings.Contains(string(r.Body), `["body","1","uniqueid"]`) {
				t.Fatalf("422 = %s", r.Body)
			}
			if _, err := e.store.Call(ctx, e.tenant.ID, "x1"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
				t.Fatal("a request with an invalid CDR stored some of it")
			}
		})
	}
}

func TestWrongResultsSecretsAreThrottled(t *testing.T) {
	e := newEnv(t, "sqlite", func(s *cshttp.Server) { s.RateLimitPost = 2 })
	for i := 0; i < 2; i++ {
		wantStatus(t, e.do("POST", "/api/v1/call-results", "", firstResults, "X-CXBCore-Secret", "guess"), 403)
	}
	r := e.do("POST", "/api/v1/call-results", "", firstResults, "X-CXBCore-Secret", "guess")
	wantStatus(t, r, 429)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// The right secret is never throttled by someone else's guesses.
	wantStatus(t, e.do("POST", "/api/v1/call-results", "", firstResults, "X-CXBCore-Secret", resultsSecret), 200)
}

// TestConcurrentResultsForOneSession posts the first and the later payload
// of one new session many times at once: every post succeeds, and they all
// land in one call, merged.
func TestConcurrentResultsForOneSession(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			var wg sync.WaitGroup
			codes := make(chan int, 16)
			for i := 0; i < 16; i++ {
				body := firstResults
				if i%2 == 1 {
					body = secondResults
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes <- e.do("POST", "/api/v1/call-results", "", body, "X-CXBCore-Secret", resultsSecret).Status
				}()
			}
			wg.Wait()
			close(codes)
			for code := range codes {
				if code != 200 {
					t.Fatalf("a concurrent post answered %d", code)
				}
			}
			calls, err := e.store.Calls(ctx, callscope.CallFilter{TenantID: e.tenant.ID})
			must(t, err)
			if len(calls) != 1 {
				t.Fatalf("%d calls for one session", len(calls))
			}
			c, err := e.store.Call(ctx, e.tenant.ID, "sess-7f3a91")
			must(t, err)
			if doc := results(t, c); doc["post_call_analysis"] == nil || doc["transcript"] == nil {
				t.Fatalf("merged document lost a field: %v", doc)
			}
			recs, err := e.store.Recordings(ctx, c.ID)
			must(t, err)
			if len(recs) != 1 {
				t.Fatalf("%d recordings, want 1", len(recs))
			}
		})
	}
}

// TestConcurrentCDRLegs posts the CDRs of many legs of one call at once:
// every leg's record is kept on the call.
func TestConcurrentCDRLegs(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "1761300000.1"}), 201)
			var wg sync.WaitGroup
			codes := make(chan int, 12)
			for i := 0; i < 12; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes <- e.do("POST", "/api/v1/cdrs", e.key, fmt.Sprintf(
						`{"uniqueid": "1761300000.%d", "linkedid": "1761300000.1", "src": "116", "dst": "20%02d", "disposition": "ANSWERED"}`, i+2, i)).Status
				}()
			}
			wg.Wait()
			close(codes)
			for code := range codes {
				if code != 200 {
					t.Fatalf("a concurrent CDR answered %d", code)
				}
			}
			c, err := e.store.Call(context.Background(), e.tenant.ID, "1761300000.1")
			must(t, err)
			var kept []map[string]any
			must(t, json.Unmarshal(c.Raw["cdrs"], &kept))
			if len(kept) != 12 {
				t.Fatalf("kept %d CDRs of 12 legs", len(kept))
			}
		})
	}
}
