package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/egress"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestBadInputSweep sends every route of the route table bad input of
// every kind — malformed JSON, a wrong type in each field (nested ones
// too), numbers no float64 holds, huge strings and strings just over the
// limits, invalid UTF-8, hostile path ids and query values — with the
// credentials the route wants, and then reads every list and every call
// back. No answer may be a 5xx; every refusal is a 4xx with a JSON
// detail; wrong types, unreadable numbers and invalid UTF-8 are refused.
func TestBadInputSweep(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) { sweep(t, d) })
	}
}

// sweepBodies are valid bodies of the JSON routes, the start of every
// mutation. {tenant_id}-style words are replaced with fixture ids.
var sweepBodies = map[string]string{
	"POST /api/v1/tenants":                                            `{"name":"sweep tenant","results_secret":"sweep-secret-0123456789abcdef","settings":{}}`,
	"PATCH /api/v1/tenants/{tenant_id}":                               `{"name":"sweep renamed","settings":{}}`,
	"POST /api/v1/tenants/{tenant_id}/api-keys":                       `{"name":"sweep key","admin":false}`,
	"POST /api/v1/calls":                                              `{"call_id":"sweep-new","external_ids":[{"kind":"crm","value":"c-1"}],"direction":"inbound","from":"+254711000111","to":"116","status":"active","processing_mode":"postcall_only","start_time":"2025-01-01T00:00:00Z","user_id":"u1","contact_name":"Ann","title":"t","purpose":"p","campaign_id":"camp","metadata":{"queue":"helpline","n":1,"list":[1,"a",{"b":true}]}}`,
	"POST /api/v1/calls/{call_id}/segments":                           `{"segments":[{"segment_id":100,"speaker":"agent","start_time":1.5,"end_time":2.5,"text":"hello","confidence":0.9}]}`,
	"POST /api/v1/process":                                            `{"call_id":"{call_id}","force":true}`,
	"POST /api/v1/process/reprocess":                                  `{"call_id":"{call_id}","force":true}`,
	"POST /api/analyzers":                                             `{"name":"sweep analyzer","kind":"llm","prompt":"Summarise","output_schema":{"type":"object","properties":{"x":{"type":"number","maximum":10}}},"active":false}`,
	"PATCH /api/analyzers/{id}":                                       `{"name":"sweep analyzer 2","prompt":"Summarise again","output_schema":{"type":"object"},"active":false}`,
	"POST /api/analyzers/{id}/backfill":                               `{"from":"2025-01-01T00:00:00Z","to":"2030-01-01T00:00:00Z","status":["completed"],"limit":10}`,
	"POST /api/v1/webhooks":                                           `{"url":"http://127.0.0.1:9/hook","event_types":["call.completed"],"enabled":false,"description":"d"}`,
	"PATCH /api/v1/webhooks/{webhook_id}":                             `{"url":"http://127.0.0.1:9/hook2","event_types":["call.completed"],"enabled":false,"description":"d2"}`,
	"POST /api/v1/call-results":                                       `{"session_id":"sweep-res","stream_id":"s","caller_id":"c","from_number":"+254711000111","to_number":"116","call_duration_seconds":12.5,"disconnected_by":"caller","call_direction":"inbound","transcript":[{"role":"user","content":"hi","timestamp":1.0}],"events":[{"type":"x","timestamp":1.0}],"intents":[{"name":"i","confidence":0.5}],"post_call_analysis":{"summary":"s","score":3},"qc_analysis":{"q":1},"latency":{"a":1},"latency_samples":[{"a":1}],"usage_metrics":{"tokens":5},"llm_cache_summary":{"h":1},"pipeline_config":{"p":"x"},"connected_event":{"e":1},"was_transferred":false,"skip_post_push":true,"campaign_id":"camp","campaign_contact_id":"cc"}`,
	"POST /api/v1/cdrs":                                               `[{"uniqueid":"1761295415.900","linkedid":"1761295415.900","src":"+254711000111","dst":"116","start":"2025-10-24 08:43:35","answer":"2025-10-24 08:43:40","end":"2025-10-24 08:45:00","duration":85,"billsec":80,"disposition":"ANSWERED"}]`,
	"POST /api/v1/calls/agent-service/test-auth":                      `{}`,
	"POST /autocaller/calls/schedule":                                 `{"userId":"u1","title":"t","contactName":"Ann","contactPhone":"+14155550101","scheduledTime":"2030-01-01T00:00:00Z","durationMinutes":15,"purpose":"p","aiScriptTemplate":"Hi {{contactName}}","recordingEnabled":true,"transcriptionEnabled":true,"timeZone":"Europe/Paris","simulate":{"outcome":"busy","ringSeconds":1,"talkSeconds":2}}`,
	"POST /autocaller/calls/{call_id}/start":                          `{"userId":"u1"}`,
	"POST /autocaller/calls/{call_id}/end":                            `{"userId":"u1"}`,
	"POST /autocaller/calls/{call_id}/cancel":                         `{"userId":"u1"}`,
	"POST /autocaller/calls/{call_id}/callbacks/{delivery_id}/replay": `{"userId":"u1"}`,
	"POST /api/v1/campaigns":                                          `{"name":"Spring renewals","user_id":"user-1","title":"Renewal","purpose":"your plan renewal","script":"Hello {{contactName}}, about your {{plan}} plan.","concurrency":20,"redial":{"busy":{"delay_seconds":600,"max_attempts":3},"no_answer":{"delay_seconds":3600,"max_attempts":2}},"calling_window":{"start":"09:00","end":"20:00","days":["mon","tue","wed","thu","fri"]},"time_zone":"America/New_York","duration_minutes":10,"recording_enabled":true,"transcription_enabled":true,"provider":{"simulate":{"ringSeconds":1,"talkSeconds":3}},"contacts":[{"phone":"+14155550100","name":"Ada Lovelace","time_zone":"Europe/London","variables":{"plan":"gold"}}]}`,
	"POST /api/v1/campaigns/{campaign_id}/contacts":                   `{"contacts":[{"phone":"+14155550101","name":"Alan Turing","time_zone":"America/Chicago","variables":{"plan":"silver"}}]}`,
	"POST /api/v1/do-not-call":                                        `{"number":"+14155550100","reason":"asked by e-mail"}`,
	"PUT /api/v1/calls/{call_id}/legal-hold":                          `{"reason":"case 1"}`,
	"POST /api/v1/classify":                                           `{"transcript":"caller: my son is being bullied at school","taxonomy":{"name":"t","fallback":"a","negations":["sio"],"categories":[{"id":"a","label":"A","risk":"low","keywords":[{"weight":2,"terms":["bull*"]}]}],"escalation":[{"level":"high","terms":["knife"]}]}}`,
	"PUT /api/v1/calls/{call_id}/classification":                      `{"category":"neglect","note":"n","reviewer":"r"}`,
	// Contacts and to-dos.
	"POST /api/v1/contacts":               `{"name":"Jane Doe","phone_numbers":["+254711000111","+14155550123"],"email":"jane@example.com","organization":"Acme","time_zone":"Africa/Nairobi","do_not_call":false,"notes":"Prefers mornings."}`,
	"PATCH /api/v1/contacts/{contact_id}": `{"name":"Jane W. Doe","phone_numbers":["+254711000111"],"email":"jane.doe@example.com","organization":"Acme Ltd","time_zone":"Europe/London","do_not_call":true,"notes":"Asked not to be called."}`,
	"POST /api/v1/todos":                  `{"call_id":"{call_id}","text":"Send the refund form","assignee":"brian","due_date":"2030-01-15"}`,
	"PATCH /api/v1/todos/{todo_id}":       `{"status":"done","assignee":"amina","due_date":"2030-01-20"}`,
}

// lenient routes read outside systems' payloads, which allow more than one
// type in a field; a wrong type there may be accepted.
// The Auto-Caller schedule keeps fields it does not read as provider
// parameters, as its contract allows.
var lenientRoutes = map[string]bool{"POST /api/v1/call-results": true, "POST /api/v1/cdrs": true, "POST /autocaller/calls/schedule": true}

// optionalBody routes take no body as an empty one.
var optionalBody = map[string]bool{"POST /api/analyzers/{id}/backfill": true}

// hostileIDs are path ids, already escaped for a URL path.
var hostileIDs = []string{"..%2F..", "..%2F..%2Fetc%2Fpasswd", "%00", "a%00b", strings.Repeat("a", 10<<10), "%C3%BCn%C3%AF%F0%9F%98%80",
	"%27%3B%20DROP%20TABLE%20calls%3B%20--", "%ff%fe", "-1", "1e999", "%20", "null"}

// hostileQuery are query values, escaped.
var hostileQuery = []string{"1e999", "-1e999", "-1", "abc", "%00", "%ff", strings.Repeat("9", 400), strings.Repeat("x", 10<<10),
	"%27%3B%20DROP%20TABLE%20calls%3B%20--", "true%00", "2025-13-45"}

// mutation is one changed body.
type mutation struct {
	what   string // field path and kind of change
	body   []byte
	strict bool // must be refused on every route
}

// leafMutations are what a value is replaced with, by the JSON kind of the
// value in the valid body.
func leafMutations(v any) []struct {
	kind, raw string
	strict    bool
} {
	type m = struct {
		kind, raw string
		strict    bool
	}
	huge := func(n int) string { return `"` + strings.Repeat("é", n/2) + strings.Repeat("a", n%2) + `"` }
	out := []m{{"1e999", "1e999", true}, {"-1e999", "-1e999", true}, {"badutf8", "\"a\xff\xfe\"", true}, {"nested1e999", `{"x":[1e999]}`, true},
		{"deep", strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000), false}}
	switch v.(type) {
	case string:
		out = append(out, m{"number", "123", true}, m{"object", `{"a":1}`, true}, m{"array", `["a"]`, true}, m{"bool", "true", true},
			m{"huge1MB", `"` + strings.Repeat("a", 1<<20) + `"`, false}, m{"empty", `""`, false}, m{"space", `"   "`, false},
			m{"nul", `"a\u0000b"`, false}, m{"unicode", `"ünï😀\u202e"`, false})
		for _, n := range []int{65, 101, 201, 513, 501, 1001, 2001, 10001} {
			out = append(out, m{"len" + strconv.Itoa(n), huge(n), false})
		}
	case float64:
		out = append(out, m{"string", `"12"`, false}, m{"object", `{}`, true}, m{"array", `[1]`, true}, m{"bool", "false", true},
			m{"negative", "-5", false}, m{"1e308", "1e308", false}, m{"bigint", "12345678901234567890", false}, m{"nan", `"NaN"`, false})
	case bool:
		out = append(out, m{"string", `"true"`, true}, m{"number", "1", true}, m{"object", "{}", true})
	case map[string]any:
		out = append(out, m{"string", `"x"`, true}, m{"number", "1", true}, m{"array", "[]", true},
			m{"huge1MB", `{"k":"` + strings.Repeat("a", 1<<20) + `"}`, false}, m{"badutf8key", "{\"\xff\":1}", true},
			m{"negzero", `{"z":-0,"big":1e308}`, false})
	case []any:
		out = append(out, m{"string", `"x"`, true}, m{"object", `{}`, false}, m{"number", "7", true}, m{"item1e999", `[1e999]`, true},
			m{"many", "[" + strings.Repeat(`"x",`, 20000) + `"x"]`, false})
	}
	return out
}

// mutations lists every changed body of a valid one: each leaf and each
// container replaced with every value of leafMutations, plus whole-body
// breakage.
func mutations(valid string) []mutation {
	out := []mutation{
		{"malformed", []byte(valid[:len(valid)/2]), true},
		{"trailing", []byte(valid + " {}"), true},
		{"number-body", []byte("1e999"), true},
		{"string-body", []byte(`"x"`), true},
		{"badutf8-body", append([]byte(valid[:len(valid)-1]), "\xff}"...), true},
		{"dup-key", []byte(`{"a":1,"a":2}`), false},
		{"empty", nil, true},
	}
	var root any
	if err := json.Unmarshal([]byte(valid), &root); err != nil {
		panic(err)
	}
	var walk func(path []any, v any)
	walk = func(path []any, v any) {
		if len(path) > 0 {
			for _, lm := range leafMutations(v) {
				out = append(out, mutation{fmt.Sprint(path) + "=" + lm.kind, replaceAt(root, path, json.RawMessage(lm.raw)), lm.strict})
			}
		}
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(append(slices.Clone(path), k), c)
			}
		case []any:
			for i, c := range x {
				walk(append(slices.Clone(path), i), c)
			}
		}
	}
	walk(nil, root)
	return out
}

// replaceAt marshals v with the value at path replaced by raw.
func replaceAt(v any, path []any, raw json.RawMessage) []byte {
	var rebuild func(v any, path []any) any
	rebuild = func(v any, path []any) any {
		if len(path) == 0 {
			return raw
		}
		switch x := v.(type) {
		case map[string]any:
			c := map[string]any{}
			for k, e := range x {
				c[k] = e
			}
			c[path[0].(string)] = rebuild(x[path[0].(string)], path[1:])
			return c
		case []any:
			c := slices.Clone(x)
			c[path[0].(int)] = rebuild(x[path[0].(int)], path[1:])
			return c
		}
		panic("bad path")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rebuild(v, path)); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// sweepStats counts what the sweep sent.
type sweepStats struct {
	requests, refused, accepted int
	acceptedLenient             []string
}

func sweep(t *testing.T, d sqlstore.Dialect) {
	e := newEnv(t, d, func(s *cshttp.Server) { s.Egress = egress.Policy{AllowPrivate: true} })
	var st sweepStats
	check := func(what, method, path, key string, body []byte, strict bool, hdr ...string) response {
		t.Helper()
		var b any
		if body != nil {
			b = body
		}
		r := e.do(method, path, key, b, hdr...)
		st.requests++
		if r.Status >= 500 {
			t.Errorf("%s %s (%s): status %d: %.300s", method, shorten(path), what, r.Status, r.Body)
			return r
		}
		if r.Status == 429 {
			// A rate limit would hide what the handler does.
			t.Fatalf("%s %s (%s): rate limited: %s", method, shorten(path), what, r.Body)
		}
		if r.Status >= 400 {
			st.refused++
			if r.Header.Get("Content-Type") != "application/json" && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s (%s): %d with Content-Type %q", method, shorten(path), what, r.Status, r.Header.Get("Content-Type"))
			}
			var m map[string]any
			if err := json.Unmarshal(r.Body, &m); err != nil || !goodDetail(m["detail"]) {
				t.Errorf("%s %s (%s): %d without a JSON detail: %.300s", method, shorten(path), what, r.Status, r.Body)
			}
		} else {
			st.accepted++
			if strict {
				t.Errorf("%s %s (%s): bad input accepted with %d: %.300s", method, shorten(path), what, r.Status, r.Body)
			}
		}
		return r
	}

	// Fixtures: a call with segments, a second tenant to change, a key,
	// an analyzer with a backfill, a webhook and a recording.
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "sweep-1"}), 201)
	wantStatus(t, e.do("POST", "/api/v1/calls/sweep-1/segments", e.key, map[string]any{"segments": []any{
		map[string]any{"segment_id": 0, "speaker": "caller", "start_time": 0, "end_time": 1, "text": "hello"}}}), 200)
	r := e.do("POST", "/api/v1/tenants", e.admin, map[string]any{"name": "sweep patched"})
	wantStatus(t, r, 201)
	other := r.json(t)["id"].(string)
	r = e.do("POST", "/api/v1/tenants/"+e.tenant.ID+"/api-keys", e.admin, map[string]any{})
	wantStatus(t, r, 201)
	keyID := r.json(t)["id"].(string)
	r = e.do("POST", "/api/analyzers", e.key, map[string]any{"name": "fixture", "kind": "llm", "prompt": "p", "active": true})
	wantStatus(t, r, 201)
	analyzerID := fmt.Sprint(r.json(t)["id"])
	r = e.do("POST", "/api/analyzers/"+analyzerID+"/backfill", e.key, map[string]any{})
	wantStatus(t, r, 202)
	backfillID := fmt.Sprint(r.json(t)["id"])
	r = e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"url": "http://127.0.0.1:9/hook", "enabled": false})
	wantStatus(t, r, 201)
	webhookID := fmt.Sprint(r.json(t)["id"])
	r = e.do("POST", "/api/v1/calls/sweep-1/recording", e.key, wavBytes(), "Content-Type", "audio/wav")
	if r.Status >= 300 {
		t.Fatalf("recording upload: %d %s", r.Status, r.Body)
	}
	recordingID := fmt.Sprint(r.json(t)["id"])
	r = e.do("POST", "/api/v1/campaigns", e.key, map[string]any{"name": "fixture", "provider": map[string]any{"simulate": map[string]any{"outcome": "busy"}},
		"contacts": []map[string]any{{"phone": "+14155550177"}}})
	wantStatus(t, r, 201)
	campaignID := fmt.Sprint(r.json(t)["id"])
	ids := map[string]string{"{call_id}": "sweep-1", "{tenant_id}": other, "{key_id}": keyID, "{id}": analyzerID,
		"{backfill_id}": backfillID, "{webhook_id}": webhookID, "{delivery_id}": "1", "{recording_id}": recordingID, "{token}": "tok"}
	ids["{campaign_id}"], ids["{number}"] = campaignID, "+14155550100"
	fill := func(pattern string) string {
		for k, v := range ids {
			pattern = strings.ReplaceAll(pattern, k, v)
		}
		return pattern
	}
	// Routes on the api-keys route revoke a key: give it its own tenant.
	routes := e.server.Routes()
	jsonRoutes := map[string]bool{}
	for _, r := range e.server.JSONRoutes() {
		jsonRoutes[r] = true
	}
	creds := func(route string) (string, []string) {
		switch {
		case strings.Contains(route, "/api/v1/tenants"):
			return e.admin, nil
		case route == "POST /api/v1/call-results":
			return "", []string{"X-CXBCore-Secret", resultsSecret}
		}
		return e.key, nil
	}
	openapi := e.do("GET", "/openapi.json", "", nil)
	queries := queryParams(t, openapi.Body)

	for _, route := range routes {
		method, pattern, _ := strings.Cut(route, " ")
		key, hdr := creds(route)
		if route == "DELETE /api/v1/tenants/{tenant_id}/api-keys/{key_id}" || route == "DELETE /api/analyzers/{id}" ||
			route == "DELETE /api/v1/webhooks/{webhook_id}" {
			// Destroying fixtures is left to the end.
			continue
		}
		// Bodies.
		if jsonRoutes[route] {
			valid, ok := sweepBodies[route]
			if !ok {
				t.Fatalf("no valid body for %s: add one to sweepBodies", route)
			}
			valid = strings.ReplaceAll(valid, "{call_id}", "sweep-1")
			for _, m := range mutations(valid) {
				strict := m.strict && (!lenientRoutes[route] || unreadable(m.what)) && !(m.what == "empty" && optionalBody[route])
				check(m.what, method, fill(pattern), key, m.body, strict, hdr...)
			}
		} else if method != "GET" {
			for _, b := range []string{`{`, "\xff", `{"a":1e999}`, strings.Repeat("[", 10000)} {
				check("stray body", method, fill(pattern), key, []byte(b), false, hdr...)
			}
		}
		// Path ids.
		for _, param := range pathParams(pattern) {
			for _, h := range hostileIDs {
				p := strings.ReplaceAll(pattern, param, h)
				body := []byte(nil)
				if jsonRoutes[route] {
					body = []byte(strings.ReplaceAll(sweepBodies[route], "{call_id}", "sweep-1"))
				}
				check("path "+param+"="+shorten(h), method, fill(p), key, body, false, hdr...)
			}
		}
		// Query values.
		for _, q := range queries[route] {
			for _, h := range hostileQuery {
				check("query "+q+"="+shorten(h), method, fill(pattern)+"?"+q+"="+h, key, nil, false, hdr...)
			}
		}
	}
	// Uploads that are not audio.
	for _, b := range []string{"", "RIFF", "not audio at all", strings.Repeat("\x00", 5000)} {
		for _, ct := range []string{"audio/wav", "multipart/form-data; boundary=x", "application/octet-stream", "text/plain"} {
			check("upload "+ct, "POST", "/api/v1/calls/sweep-1/recording", e.key, []byte(b), false, "Content-Type", ct)
		}
	}
	// Then delete with hostile ids, and for real.
	for _, route := range []string{"DELETE /api/v1/tenants/{tenant_id}/api-keys/{key_id}", "DELETE /api/analyzers/{id}", "DELETE /api/v1/webhooks/{webhook_id}"} {
		_, pattern, _ := strings.Cut(route, " ")
		key, _ := creds(route)
		for _, param := range pathParams(pattern) {
			for _, h := range hostileIDs {
				check("path "+param+"="+shorten(h), "DELETE", fill(strings.ReplaceAll(pattern, param, h)), key, nil, false)
			}
		}
	}

	readBack(t, e, check)
	t.Logf("%s: %d requests, %d refused, %d accepted", d, st.requests, st.refused, st.accepted)
}

// readBack reads every list and every call's views after the sweep: what
// was stored must still read.
func readBack(t *testing.T, e *env, check func(what, method, path, key string, body []byte, strict bool, hdr ...string) response) {
	for _, p := range []string{"/api/v1/calls?limit=200", "/api/v1/calls/active", "/api/v1/calls/stats", "/api/calls?limit=200",
		"/api/v1/webhooks", "/api/analyzers", "/api/v1/calls/processing/status", "/api/v1/calls/agent-service/health", "/health/detailed", "/metrics"} {
		r := check("read back", "GET", p, e.key, nil, false)
		if r.Status != 200 {
			t.Errorf("GET %s: %d: %.300s", p, r.Status, r.Body)
		}
	}
	for _, p := range []string{"/api/v1/tenants", "/api/v1/tenants/" + e.tenant.ID + "/api-keys"} {
		if r := check("read back", "GET", p, e.admin, nil, false); r.Status != 200 {
			t.Errorf("GET %s: %d: %.300s", p, r.Status, r.Body)
		}
	}
	var ids []string
	cursor := ""
	for {
		r := check("read back", "GET", "/api/v1/calls?limit=100"+cursor, e.key, nil, false)
		var page struct {
			Calls      []map[string]any `json:"calls"`
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatalf("calls page: %v: %.300s", err, r.Body)
		}
		for _, c := range append(page.Calls, page.Items...) {
			ids = append(ids, fmt.Sprint(c["call_id"]))
		}
		if page.NextCursor == "" {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(page.NextCursor)
	}
	if len(ids) == 0 {
		t.Fatal("no calls to read back")
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := "/api/v1/calls/" + url.PathEscape(id)
		for _, v := range []string{"", "/transcript", "/transcript?include_segments=true", "/segments", "/export", "/export?format=json",
			"/export?format=text", "/translation", "/processing", "/recordings", "/entity-evolution", "/classification-evolution", "/progressive-analysis"} {
			if r := check("read back "+id, "GET", p+v, e.key, nil, false); r.Status >= 300 && v != "/translation" && v != "/progressive-analysis" {
				t.Errorf("GET %s%s: %d: %.300s", p, v, r.Status, r.Body)
			}
		}
		check("read back "+id, "GET", "/api/calls/"+url.PathEscape(id), e.key, nil, false)
	}
	t.Logf("read back %d calls", len(ids))
}

// unreadable tells the mutations no route may accept: numbers no float64
// holds, invalid UTF-8 and broken JSON.
func unreadable(what string) bool {
	for _, k := range []string{"1e999", "badutf8", "malformed", "trailing", "empty", "-body"} {
		if strings.Contains(what, k) {
			return true
		}
	}
	return false
}

func goodDetail(d any) bool {
	switch d := d.(type) {
	case string:
		return d != ""
	case []any:
		if len(d) == 0 {
			return false
		}
		for _, x := range d {
			fe, ok := x.(map[string]any)
			if !ok {
				return false
			}
			if _, ok := fe["loc"].([]any); !ok || fe["msg"] == "" || fe["type"] == "" {
				return false
			}
		}
		return true
	}
	return false
}

func pathParams(pattern string) []string {
	var out []string
	for _, part := range strings.Split(pattern, "/") {
		if strings.HasPrefix(part, "{") {
			out = append(out, part)
		}
	}
	return out
}

// queryParams reads the documented query parameters of each route from
// the OpenAPI document.
func queryParams(t *testing.T, doc []byte) map[string][]string {
	var spec struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for p, ops := range spec.Paths {
		for m, op := range ops {
			for _, prm := range op.Parameters {
				if prm.In == "query" {
					k := strings.ToUpper(m) + " " + p
					out[k] = append(out[k], prm.Name)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no query parameters in the OpenAPI document")
	}
	return out
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:40] + "…(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return s
}

// wavBytes is a short valid 8 kHz mono PCM WAV.
func wavBytes() []byte {
	samples := make([]byte, 1600)
	var b bytes.Buffer
	le := func(v uint32, n int) {
		for i := 0; i < n; i++ {
			b.WriteByte(byte(v >> (8 * i)))
		}
	}
	b.WriteString("RIFF")
	le(uint32(36+len(samples)), 4)
	b.WriteString("WAVEfmt ")
	le(16, 4)
	le(1, 2)
	le(1, 2)
	le(8000, 4)
	le(16000, 4)
	le(2, 2)
	le(16, 2)
	b.WriteString("data")
	le(uint32(len(samples)), 4)
	b.Write(samples)
	return b.Bytes()
}
