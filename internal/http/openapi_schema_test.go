package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/analyze"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestOpenAPIAnswersMatchSchemas drives every route on a real store and
// checks that the status is documented for the operation and the body
// fits the documented schema.
func TestOpenAPIAnswersMatchSchemas(t *testing.T) {
	doc := mustSpec(t)
	ops := operations(doc)
	ctx := context.Background()
	store := sqlstoretest.Open(t, sqlstore.SQLite)
	if err := job.Migrate(ctx, store); err != nil {
		t.Fatal(err)
	}
	queue, err := job.New(store, nil, job.Config{NoWork: true})
	if err != nil {
		t.Fatal(err)
	}
	home := sqlstoretest.MustTenant(t, store)
	_, admin, err := store.CreateAPIKey(ctx, home.ID, "admin", true)
	if err != nil {
		t.Fatal(err)
	}
	tenant := sqlstoretest.MustTenant(t, store)
	_, key, err := store.CreateAPIKey(ctx, tenant.ID, "", false)
	if err != nil {
		t.Fatal(err)
	}
	calls := &call.Service{Store: store, Queue: queue, Stages: pipeline.Stages}
	srv := &Server{Store: store, Calls: calls, Analysis: &analyze.Service{Store: store, Queue: queue}, Jobs: queue,
		Webhooks: &deliver.Webhooks{Store: store, Queue: queue}, Agents: func() *deliver.Agent { return &deliver.Agent{Store: store} },
		Version: "test", MaxBodyBytes: 4 << 10}
	limited := &Server{Store: store, Calls: calls, Jobs: queue, RateLimitGet: 1, RateLimitPost: 1}

	covered := map[string]bool{}
	do := func(s *Server, route, target, key, body string, hdr ...string) map[string]any {
		t.Helper()
		method, _, _ := strings.Cut(route, " ")
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if body == "" {
			req = httptest.NewRequest(method, target, nil)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		code := strconv.Itoa(rec.Code)
		covered[route+" "+code] = true
		op, ok := ops[route]
		if !ok {
			t.Fatalf("%s is not documented", route)
		}
		rs, _ := op["responses"].(map[string]any)
		rv, ok := rs[code]
		if !ok {
			t.Errorf("%s %s answered %s, which the document does not list: %s", method, target, code, rec.Body)
			return nil
		}
		resp := deref(t, doc, rv)
		for h := range deref(t, doc, resp["headers"]) {
			if rec.Header().Get(h) == "" {
				t.Errorf("%s %s answered %s without the documented %s header", method, target, code, h)
			}
		}
		content, _ := resp["content"].(map[string]any)
		if len(content) == 0 && rec.Body.Len() == 0 {
			return nil // an answer documented without a body, such as 304
		}
		ct, _, _ := strings.Cut(rec.Header().Get("Content-Type"), ";")
		media, ok := content[ct].(map[string]any)
		if !ok {
			t.Errorf("%s %s answered %s with Content-Type %q; the document lists %v", method, target, code, ct, sortedKeys(content))
			return nil
		}
		if ct != "application/json" {
			return nil
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s %s: answer is not JSON: %v", method, target, err)
			return nil
		}
		for _, p := range checkSchema(doc, media["schema"], v, "body") {
			t.Errorf("%s %s answered %s: %s\n%s", method, target, code, p, rec.Body)
		}
		m, _ := v.(map[string]any)
		return m
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }

	do(srv, "GET /health", "/health", "", "")
	do(srv, "GET /health/detailed", "/health/detailed", "", "")
	do(srv, "GET /health/models", "/health/models", "", "")
	do(srv, "GET /metrics", "/metrics", "", "")
	do(srv, "GET /openapi.json", "/openapi.json", "", "")
	do(srv, "GET /docs", "/docs", "", "")

	do(srv, "GET /api/v1/tenants", "/api/v1/tenants", admin, "")
	do(srv, "GET /api/v1/tenants", "/api/v1/tenants", "", "")
	do(srv, "GET /api/v1/tenants", "/api/v1/tenants", key, "")
	do(srv, "GET /api/v1/tenants", "/api/v1/tenants", admin, "", "X-Tenant-ID", "no-such-tenant")
	tn := do(srv, "POST /api/v1/tenants", "/api/v1/tenants", admin, `{"name":"acme","settings":{"taxonomy":"helpline","translate_to":"en"}}`)
	do(srv, "POST /api/v1/tenants", "/api/v1/tenants", admin, `{"name":"acme"}`)
	do(srv, "POST /api/v1/tenants", "/api/v1/tenants", admin, `{"results_secret":"short"}`)
	do(srv, "POST /api/v1/tenants", "/api/v1/tenants", admin, `{"name":"`+strings.Repeat("x", 8<<10)+`"}`)
	tid := str(tn, "id")
	do(srv, "GET /api/v1/tenants/{tenant_id}", "/api/v1/tenants/"+tid, admin, "")
	do(srv, "GET /api/v1/tenants/{tenant_id}", "/api/v1/tenants/nope", admin, "")
	do(srv, "PATCH /api/v1/tenants/{tenant_id}", "/api/v1/tenants/"+tid, admin, `{"results_secret":"0123456789abcdef"}`)
	do(srv, "PATCH /api/v1/tenants/{tenant_id}", "/api/v1/tenants/"+tid, admin, `{"name":"`+tenant.Name+`"}`)
	do(srv, "PATCH /api/v1/tenants/{tenant_id}", "/api/v1/tenants/"+tid, admin, `{"name":" "}`)
	do(srv, "PATCH /api/v1/tenants/{tenant_id}", "/api/v1/tenants/nope", admin, `{}`)
	k := do(srv, "POST /api/v1/tenants/{tenant_id}/api-keys", "/api/v1/tenants/"+tid+"/api-keys", admin, `{"name":"pbx"}`)
	do(srv, "POST /api/v1/tenants/{tenant_id}/api-keys", "/api/v1/tenants/nope/api-keys", admin, `{}`)
	do(srv, "POST /api/v1/tenants/{tenant_id}/api-keys", "/api/v1/tenants/"+tid+"/api-keys", admin, `{"admin":"yes"}`)
	do(srv, "GET /api/v1/tenants/{tenant_id}/api-keys", "/api/v1/tenants/"+tid+"/api-keys", admin, "")
	do(srv, "GET /api/v1/tenants/{tenant_id}/api-keys", "/api/v1/tenants/nope/api-keys", admin, "")
	do(srv, "DELETE /api/v1/tenants/{tenant_id}/api-keys/{key_id}", "/api/v1/tenants/"+tid+"/api-keys/"+str(k, "id"), admin, "")
	do(srv, "DELETE /api/v1/tenants/{tenant_id}/api-keys/{key_id}", "/api/v1/tenants/"+tid+"/api-keys/nope", admin, "")

	do(srv, "POST /api/v1/calls", "/api/v1/calls", key, `{"call_id":"1761295415.12887","from":"+255700000001","to":"100","title":"Intake"}`)
	do(srv, "POST /api/v1/calls", "/api/v1/calls", key, `{"status":"scheduled","direction":"outbound","external_ids":[{"kind":"twilio","value":"CA1"}]}`)
	do(srv, "POST /api/v1/calls", "/api/v1/calls", key, `{"call_id":"1761295415.12887"}`)
	do(srv, "POST /api/v1/calls", "/api/v1/calls", key, `{"direction":"sideways"}`)
	do(srv, "POST /api/v1/calls", "/api/v1/calls", key, "")
	do(srv, "POST /api/v1/calls", "/api/v1/calls", admin, `{}`, "X-Tenant-ID", tenant.ID)
	do(srv, "POST /api/v1/calls", "/api/v1/calls", key, `{}`, "X-Tenant-ID", home.ID)
	do(srv, "GET /api/v1/calls", "/api/v1/calls?limit=1", key, "")
	do(srv, "GET /api/v1/calls", "/api/v1/calls?status=scheduled,in_progress&direction=inbound", key, "")
	do(srv, "GET /api/v1/calls", "/api/v1/calls?limit=0&direction=up", key, "")
	do(srv, "GET /api/v1/calls", "/api/v1/calls", "cs_bad_key", "")
	do(srv, "GET /api/v1/calls/{call_id}", "/api/v1/calls/1761295415.12887", key, "")
	do(srv, "GET /api/v1/calls/{call_id}", "/api/v1/calls/CA1", key, "")
	do(srv, "GET /api/v1/calls/{call_id}", "/api/v1/calls/nope", key, "")

	// The Call Sessions API routes.
	const pbx = "/api/v1/calls/1761295415.12887"
	do(srv, "POST /api/v1/calls/{call_id}/segments", pbx+"/segments", key,
		`{"segments":[{"segment_id":0,"speaker":"caller","start_time":0,"end_time":2.5,"text":"Habari","confidence":0.9},{"start_time":2.5,"end_time":4,"text":"Karibu"}]}`)
	do(srv, "POST /api/v1/calls/{call_id}/segments", pbx+"/segments", key, `[{"start_time":4,"end_time":5,"text":"Asante"}]`)
	do(srv, "POST /api/v1/calls/{call_id}/segments", pbx+"/segments", key, `{"segments":[{"start_time":3,"end_time":1,"text":""}]}`)
	do(srv, "POST /api/v1/calls/{call_id}/segments", "/api/v1/calls/nope/segments", key, `[{"start_time":0,"end_time":1,"text":"x"}]`)
	do(srv, "GET /api/v1/calls/{call_id}/segments", pbx+"/segments", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/segments", "/api/v1/calls/nope/segments", key, "")
	do(srv, "GET /api/v1/calls/active", "/api/v1/calls/active", key, "")
	do(srv, "GET /api/v1/calls/stats", "/api/v1/calls/stats", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/transcript", pbx+"/transcript", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/transcript", pbx+"/transcript?include_segments=true", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/transcript", pbx+"/transcript?include_segments=perhaps", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/transcript", "/api/v1/calls/nope/transcript", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/processing", pbx+"/processing", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/processing", "/api/v1/calls/nope/processing", key, "")
	live, err := store.Call(ctx, tenant.ID, "1761295415.12887")
	if err != nil {
		t.Fatal(err)
	}
	for i, kind := range []string{callscope.EvolutionEntity, callscope.EvolutionClassification, callscope.EvolutionTranslation} {
		if err := store.AppendEvolution(ctx, &callscope.EvolutionSnapshot{CallID: live.ID, TenantID: tenant.ID, Kind: kind, WindowIndex: i,
			WindowEnd: 15, Data: json.RawMessage(`{"translation":"Hello","category":"general","persons":["Amina"]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, route := range []string{"translation", "progressive-analysis", "entity-evolution", "classification-evolution"} {
		do(srv, "GET /api/v1/calls/{call_id}/"+route, pbx+"/"+route, key, "")
		do(srv, "GET /api/v1/calls/{call_id}/"+route, "/api/v1/calls/CA1/"+route, key, "")
		do(srv, "GET /api/v1/calls/{call_id}/"+route, "/api/v1/calls/nope/"+route, key, "")
	}
	do(srv, "POST /api/v1/calls/{call_id}/end", pbx+"/end?reason="+strings.Repeat("r", 300), key, "")
	do(srv, "POST /api/v1/calls/{call_id}/end", pbx+"/end?reason=manual", key, "")
	do(srv, "POST /api/v1/calls/{call_id}/end", pbx+"/end", key, "")
	do(srv, "POST /api/v1/calls/{call_id}/end", "/api/v1/calls/nope/end", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/processing", pbx+"/processing", key, "")
	started := time.Now().Add(-time.Minute)
	if err := store.PutProcessing(ctx, &callscope.Processing{CallID: live.ID, TenantID: tenant.ID, Status: callscope.ProcessingInProgress,
		CurrentStage: "translate", StagesCompleted: []string{"transcribe"}, StagesRemaining: []string{"translate"}, StartedAt: &started,
		Errors: []callscope.StageError{{Stage: "transcribe", Message: "retrying", Retryable: true, At: started}},
		Stages: []callscope.StageRun{{Stage: "transcribe", Status: "completed", StartedAt: started, Seconds: 12, AudioSeconds: 5}}}); err != nil {
		t.Fatal(err)
	}
	do(srv, "GET /api/v1/calls/{call_id}/processing", pbx+"/processing", key, "")
	do(srv, "GET /api/v1/calls/processing/status", "/api/v1/calls/processing/status", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/export", pbx+"/export", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/export", pbx+"/export?format=text", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/export", "/api/v1/calls/CA1/export", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/export", pbx+"/export?format=pdf", key, "")
	do(srv, "GET /api/v1/calls/{call_id}/export", "/api/v1/calls/nope/export", key, "")
	do(srv, "GET /api/v1/calls", "/api/v1/calls?q=habari&sort=duration&order=asc&limit=1&from=2020-01-01T00:00:00Z", key, "")
	do(srv, "GET /api/v1/calls", "/api/v1/calls?sort=size", key, "")
	do(srv, "GET /api/v1/calls/active", "/api/v1/calls/active", "", "")

	do(limited, "GET /api/v1/calls", "/api/v1/calls", key, "")
	do(limited, "GET /api/v1/calls", "/api/v1/calls", key, "")
	do(limited, "POST /api/v1/calls", "/api/v1/calls", key, `{}`)
	do(limited, "POST /api/v1/calls", "/api/v1/calls", key, `{}`)

	// Voice-bot results, CDRs, recordings and processing, on a server with
	// recording storage and processing enabled (srv has neither).
	secret := "openapi-results-secret-0123456789"
	if _, err := store.UpdateTenant(ctx, tenant.ID, callscope.TenantUpdate{ResultsSecret: &secret}); err != nil {
		t.Fatal(err)
	}
	// Its egress policy allows 127.0.0.1, so that a recording_url on
	// loopback is stored; nothing listens on the port it names.
	media := &Server{Store: store, Calls: &call.Service{Store: store, Queue: queue, ProcessingEnabled: true, Stages: pipeline.Stages},
		Jobs: queue, MaxBodyBytes: 4 << 10, MaxUploadBytes: 32 << 10, Recordings: blob.Dir{Root: t.TempDir()},
		Egress: egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	huge := `{"session_id":"big","uniqueid":"big","pad":"` + strings.Repeat("x", 16<<20) + `"}`
	do(media, "POST /api/v1/call-results", "/api/v1/call-results", "",
		`{"session_id":"cxb-session-1","from_number":"+255700000002","call_direction":"inbound","call_duration_seconds":42,"disconnected_by":"user",
		"transcript":[{"role":"assistant","content":"Habari"},{"role":"user","content":"Nzuri"}],"intents":null,
		"recording_url":"http://127.0.0.1:9/cxb.wav","transfer_target":{"queue":"agents"},"platform_extra":1}`, "X-CXBCore-Secret", secret)
	do(media, "POST /api/v1/call-results", "/api/v1/call-results", "", `{"session_id":"cxb-session-1"}`)
	do(media, "POST /api/v1/call-results", "/api/v1/call-results", "", `{"session_id":"cxb-session-1"}`, "X-CXBCore-Secret", "wrong-secret")
	do(media, "POST /api/v1/call-results", "/api/v1/call-results", "", `{"call_duration_seconds":"long"}`, "X-CXBCore-Secret", secret)
	do(media, "POST /api/v1/call-results", "/api/v1/call-results", "", huge, "X-CXBCore-Secret", secret)
	// The platform's recording is proxied; its source does not answer.
	if recs := asSlice(do(media, "GET /api/v1/calls/{call_id}/recordings", "/api/v1/calls/cxb-session-1/recordings", key, "")["recordings"]); len(recs) == 1 {
		do(media, "GET /recordings/{token}", str(recs[0].(map[string]any), "url"), "", "")
	} else {
		t.Errorf("results with a recording_url list %d recordings, want 1", len(recs))
	}

	do(media, "POST /api/v1/cdrs", "/api/v1/cdrs", key,
		`{"uniqueid":"1761299999.1","src":"0722000222","dst":"116","start":"2025-10-24 09:00:00","duration":"12","disposition":"NO ANSWER","channel":"PJSIP/trunk-0002"}`)
	do(media, "POST /api/v1/cdrs", "/api/v1/cdrs", key, `[{"uniqueid":"1761299999.2","linkedid":"1761299999.2","src":"0711000111","dst":"116",
		"start":"2025-10-24T08:43:35Z","answer":"2025-10-24 08:43:41","end":"2025-10-24 08:46:40","duration":185,"billsec":"179","disposition":"ANSWERED"},
		{"uniqueid":1761299999.3,"linkedid":"1761299999.2","src":"116","dst":"2001","billsec":170,"disposition":"answered"}]`)
	do(media, "POST /api/v1/cdrs", "/api/v1/cdrs", key, `[{"uniqueid":"x1","start":"yesterday"},{"src":"1"}]`)
	do(media, "POST /api/v1/cdrs", "/api/v1/cdrs", key, `[]`)
	do(media, "POST /api/v1/cdrs", "/api/v1/cdrs", key, huge)

	const rc = "/api/v1/calls/rec-call-0001"
	do(media, "POST /api/v1/calls", "/api/v1/calls", key, `{"call_id":"rec-call-0001"}`)
	wav := string((&audio.PCM{SampleRate: 8000, Channels: [][]float32{make([]float32, 4000)}}).WAV())
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "call.wav")
	fw.Write([]byte(wav))
	mw.Close()
	up := do(media, "POST /api/v1/calls/{call_id}/recording", rc+"/recording", key, form.String(), "Content-Type", mw.FormDataContentType())
	do(media, "POST /api/v1/calls/{call_id}/recording", rc+"/recording", key, wav, "Content-Type", "audio/wav")
	do(media, "POST /api/v1/calls/{call_id}/recording", rc+"/recording?format=slin&sample_rate=16000", key, strings.Repeat("\x00\x01", 800),
		"Content-Type", "application/octet-stream")
	do(media, "POST /api/v1/calls/{call_id}/recording", rc+"/recording", key, "this is not audio at all, just some text", "Content-Type", "audio/wav")
	do(media, "POST /api/v1/calls/{call_id}/recording", rc+"/recording", key, "")
	do(media, "POST /api/v1/calls/{call_id}/recording", rc+"/recording?format=flac&sample_rate=5", key, wav)
	do(media, "POST /api/v1/calls/{call_id}/recording", rc+"/recording", key, "--x\r\n", "Content-Type", "multipart/form-data; boundary=x")
	do(media, "POST /api/v1/calls/{call_id}/recording", rc+"/recording", key,
		string((&audio.PCM{SampleRate: 8000, Channels: [][]float32{make([]float32, 24000)}}).WAV()), "Content-Type", "audio/wav")
	do(media, "POST /api/v1/calls/{call_id}/recording", "/api/v1/calls/nope/recording", key, wav)
	do(srv, "POST /api/v1/calls/{call_id}/recording", rc+"/recording", key, wav)
	do(media, "GET /api/v1/calls/{call_id}/recordings", rc+"/recordings", key, "")
	do(media, "GET /api/v1/calls/{call_id}/recordings", "/api/v1/calls/nope/recordings", key, "")
	url, rid := str(up, "url"), str(up, "id")
	if url == "" || rid == "" {
		t.Fatalf("the upload answered no url or id: %v", up)
	}
	do(media, "GET /recordings/{token}", url, "", "")
	do(media, "GET /recordings/{token}", url, "", "", "Range", "bytes=0-99")
	do(media, "GET /recordings/{token}", url, "", "", "If-None-Match", "*")
	do(media, "GET /recordings/{token}", url, "", "", "Range", "bytes=999999-")
	do(media, "GET /recordings/{token}", "/recordings/no-such-token", "", "")
	do(media, "POST /api/v1/calls/{call_id}/recordings/{recording_id}/token", rc+"/recordings/"+rid+"/token", key, "")
	do(media, "POST /api/v1/calls/{call_id}/recordings/{recording_id}/token", rc+"/recordings/nope/token", key, "")
	do(media, "GET /recordings/{token}", url, "", "")
	if rv := do(media, "DELETE /api/v1/calls/{call_id}/recordings/{recording_id}/token", rc+"/recordings/"+rid+"/token", key, ""); rv["url"] != nil {
		t.Errorf("a revoked recording has url %v, want null", rv["url"])
	}
	do(media, "DELETE /api/v1/calls/{call_id}/recordings/{recording_id}/token", "/api/v1/calls/nope/recordings/"+rid+"/token", key, "")

	const pc = "/api/v1/calls/proc-call-0001"
	do(media, "POST /api/v1/calls", "/api/v1/calls", key, `{"call_id":"proc-call-0001"}`)
	do(media, "POST /api/v1/calls/{call_id}/segments", pc+"/segments", key, `[{"speaker":"caller","start_time":0,"end_time":2,"text":"Habari"}]`)
	proc := `{"call_id":"proc-call-0001","tenant_id":"` + tenant.ID + `"}`
	do(media, "POST /api/v1/process", "/api/v1/process", key, proc)
	do(media, "POST /api/v1/process", "/api/v1/process", key, `{"call_id":"proc-call-0001","tenant_id":"`+tenant.Name+`"}`)
	do(media, "POST /api/v1/process", "/api/v1/process", key, `{"call_id":"short","tenant_id":"x"}`)
	do(media, "POST /api/v1/process", "/api/v1/process", key, `[1]`)
	do(media, "POST /api/v1/process", "/api/v1/process", key, `{"call_id":"proc-call-0001","tenant_id":"`+home.ID+`"}`)
	do(media, "POST /api/v1/process", "/api/v1/process", key, `{"call_id":"no-such-call","tenant_id":"`+tenant.ID+`"}`)
	do(media, "POST /api/v1/process", "/api/v1/process", key, `{"call_id":"`+strings.Repeat("x", 8<<10)+`"}`)
	do(srv, "POST /api/v1/process", "/api/v1/process", key, proc)
	do(media, "POST /api/v1/process/reprocess", "/api/v1/process/reprocess", key, proc)
	processed, err := store.Call(ctx, tenant.ID, "proc-call-0001")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutProcessing(ctx, &callscope.Processing{CallID: processed.ID, TenantID: tenant.ID, Status: callscope.ProcessingCompleted}); err != nil {
		t.Fatal(err)
	}
	do(media, "POST /api/v1/process", "/api/v1/process", key, proc)
	do(media, "POST /api/v1/calls/{call_id}/trigger-ai-pipeline", pc+"/trigger-ai-pipeline", key, "")
	do(media, "POST /api/v1/process/reprocess", "/api/v1/process/reprocess", key, proc)
	do(media, "POST /api/v1/process/reprocess", "/api/v1/process/reprocess", key, `{"call_id":"proc-call-0001","tenant_id":"`+tenant.ID+`","force":true}`)
	do(media, "POST /api/v1/process/reprocess", "/api/v1/process/reprocess", key, `{"call_id":"proc-call-0001","force":"yes"}`)
	do(srv, "POST /api/v1/process/reprocess", "/api/v1/process/reprocess", key, proc)
	do(media, "POST /api/v1/calls/{call_id}/trigger-ai-pipeline", rc+"/trigger-ai-pipeline", key, "")
	do(media, "POST /api/v1/calls/{call_id}/trigger-ai-pipeline", "/api/v1/calls/nope/trigger-ai-pipeline", key, "")
	do(srv, "POST /api/v1/calls/{call_id}/trigger-ai-pipeline", rc+"/trigger-ai-pipeline", key, "")

	// Each answer the test means to provoke was seen; a route that stops
	// giving one of them fails here rather than passing silently.
	for _, want := range []string{
		"GET /health 200", "GET /metrics 200", "GET /openapi.json 200", "GET /docs 200",
		"GET /api/v1/tenants 200", "GET /api/v1/tenants 401", "GET /api/v1/tenants 403", "GET /api/v1/tenants 404",
		"POST /api/v1/tenants 201", "POST /api/v1/tenants 409", "POST /api/v1/tenants 422", "POST /api/v1/tenants 413",
		"GET /api/v1/tenants/{tenant_id} 200", "GET /api/v1/tenants/{tenant_id} 404",
		"PATCH /api/v1/tenants/{tenant_id} 200", "PATCH /api/v1/tenants/{tenant_id} 409",
		"PATCH /api/v1/tenants/{tenant_id} 422", "PATCH /api/v1/tenants/{tenant_id} 404",
		"POST /api/v1/tenants/{tenant_id}/api-keys 201", "POST /api/v1/tenants/{tenant_id}/api-keys 404",
		"POST /api/v1/tenants/{tenant_id}/api-keys 422",
		"GET /api/v1/tenants/{tenant_id}/api-keys 200", "GET /api/v1/tenants/{tenant_id}/api-keys 404",
		"DELETE /api/v1/tenants/{tenant_id}/api-keys/{key_id} 200", "DELETE /api/v1/tenants/{tenant_id}/api-keys/{key_id} 404",
		"POST /api/v1/calls 201", "POST /api/v1/calls 409", "POST /api/v1/calls 422", "POST /api/v1/calls 403",
		"POST /api/v1/calls 429",
		"GET /api/v1/calls 200", "GET /api/v1/calls 422", "GET /api/v1/calls 401", "GET /api/v1/calls 429",
		"GET /api/v1/calls/{call_id} 200", "GET /api/v1/calls/{call_id} 404",
		"POST /api/v1/calls/{call_id}/segments 200", "POST /api/v1/calls/{call_id}/segments 422",
		"POST /api/v1/calls/{call_id}/segments 404",
		"GET /api/v1/calls/{call_id}/segments 200", "GET /api/v1/calls/{call_id}/segments 404",
		"GET /api/v1/calls/active 200", "GET /api/v1/calls/active 401", "GET /api/v1/calls/stats 200",
		"GET /api/v1/calls/{call_id}/transcript 200", "GET /api/v1/calls/{call_id}/transcript 422",
		"GET /api/v1/calls/{call_id}/transcript 404",
		"GET /api/v1/calls/{call_id}/translation 200", "GET /api/v1/calls/{call_id}/translation 404",
		"GET /api/v1/calls/{call_id}/progressive-analysis 200", "GET /api/v1/calls/{call_id}/progressive-analysis 404",
		"GET /api/v1/calls/{call_id}/entity-evolution 200", "GET /api/v1/calls/{call_id}/entity-evolution 404",
		"GET /api/v1/calls/{call_id}/classification-evolution 200", "GET /api/v1/calls/{call_id}/classification-evolution 404",
		"POST /api/v1/calls/{call_id}/end 200", "POST /api/v1/calls/{call_id}/end 422", "POST /api/v1/calls/{call_id}/end 404",
		"GET /api/v1/calls/{call_id}/processing 200", "GET /api/v1/calls/{call_id}/processing 404",
		"GET /api/v1/calls/processing/status 200",
		"GET /api/v1/calls/{call_id}/export 200", "GET /api/v1/calls/{call_id}/export 422", "GET /api/v1/calls/{call_id}/export 404",
		"POST /api/v1/call-results 200", "POST /api/v1/call-results 403", "POST /api/v1/call-results 422", "POST /api/v1/call-results 413",
		"POST /api/v1/cdrs 200", "POST /api/v1/cdrs 422", "POST /api/v1/cdrs 413",
		"POST /api/v1/calls/{call_id}/recording 201", "POST /api/v1/calls/{call_id}/recording 422", "POST /api/v1/calls/{call_id}/recording 413",
		"POST /api/v1/calls/{call_id}/recording 404", "POST /api/v1/calls/{call_id}/recording 503",
		"GET /api/v1/calls/{call_id}/recordings 200", "GET /api/v1/calls/{call_id}/recordings 404",
		"POST /api/v1/calls/{call_id}/recordings/{recording_id}/token 200", "POST /api/v1/calls/{call_id}/recordings/{recording_id}/token 404",
		"DELETE /api/v1/calls/{call_id}/recordings/{recording_id}/token 200", "DELETE /api/v1/calls/{call_id}/recordings/{recording_id}/token 404",
		"GET /recordings/{token} 200", "GET /recordings/{token} 206", "GET /recordings/{token} 304", "GET /recordings/{token} 404",
		"GET /recordings/{token} 416", "GET /recordings/{token} 503",
		"POST /api/v1/process 202", "POST /api/v1/process 400", "POST /api/v1/process 403", "POST /api/v1/process 404",
		"POST /api/v1/process 413", "POST /api/v1/process 503",
		"POST /api/v1/process/reprocess 202", "POST /api/v1/process/reprocess 400", "POST /api/v1/process/reprocess 409",
		"POST /api/v1/process/reprocess 503",
		"POST /api/v1/calls/{call_id}/trigger-ai-pipeline 200", "POST /api/v1/calls/{call_id}/trigger-ai-pipeline 404",
		"POST /api/v1/calls/{call_id}/trigger-ai-pipeline 503",
	} {
		if !covered[want] {
			t.Errorf("never saw %s", want)
		}
	}
}

// checkSchema reports where v does not fit the JSON Schema s. It knows the
// keywords the document uses: $ref, allOf, type, const, enum, properties,
// required, additionalProperties, items, minItems.
func checkSchema(doc map[string]any, s any, v any, at string) []string {
	sm, _ := s.(map[string]any)
	if ref, ok := sm["$ref"].(string); ok {
		target, err := resolve(doc, ref)
		if err != nil {
			return []string{at + ": " + err.Error()}
		}
		return checkSchema(doc, target, v, at)
	}
	var out []string
	for _, sub := range asSlice(sm["allOf"]) {
		out = append(out, checkSchema(doc, sub, v, at)...)
	}
	if t, ok := sm["type"]; ok {
		var allowed []string
		switch t := t.(type) {
		case string:
			allowed = []string{t}
		case []any:
			for _, x := range t {
				allowed = append(allowed, x.(string))
			}
		}
		if got := valueType(v); !slices.Contains(allowed, got) && !(got == "integer" && slices.Contains(allowed, "number")) {
			return append(out, fmt.Sprintf("%s is %s, want %s", at, got, strings.Join(allowed, " or ")))
		}
	}
	if c, ok := sm["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		out = append(out, fmt.Sprintf("%s = %v, want %v", at, v, c))
	}
	if enum := asSlice(sm["enum"]); len(enum) > 0 && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		out = append(out, fmt.Sprintf("%s = %v, not one of %v", at, v, enum))
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := sm["properties"].(map[string]any)
		for _, r := range asSlice(sm["required"]) {
			if _, ok := v[r.(string)]; !ok {
				out = append(out, fmt.Sprintf("%s has no required property %q", at, r))
			}
		}
		for k, pv := range v {
			if ps, ok := props[k]; ok {
				out = append(out, checkSchema(doc, ps, pv, at+"."+k)...)
			} else if ap, ok := sm["additionalProperties"]; ok {
				if ap == false {
					out = append(out, fmt.Sprintf("%s has property %q the schema does not allow", at, k))
				} else if apm, ok := ap.(map[string]any); ok {
					out = append(out, checkSchema(doc, apm, pv, at+"."+k)...)
				}
			}
		}
	case []any:
		if n, ok := sm["minItems"].(float64); ok && len(v) < int(n) {
			out = append(out, fmt.Sprintf("%s has %d items, want at least %v", at, len(v), n))
		}
		if items, ok := sm["items"]; ok {
			for i, x := range v {
				out = append(out, checkSchema(doc, items, x, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
	}
	return out
}

func valueType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
