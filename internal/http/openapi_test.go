package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"mime/multipart"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"sort"
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
	"github.com/callscope/callscope/internal/voicebot"
)

// These tests hold assets/openapi.json to the route table and to the JSON
// the handlers write, so the published description cannot drift from the
// server.

// mustSpec returns the embedded OpenAPI document as generic JSON.
func mustSpec(tb testing.TB) map[string]any {
	tb.Helper()
	b, err := OpenAPI()
	if err != nil {
		tb.Fatalf("load openapi.json: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatalf("parse openapi.json: %v", err)
	}
	return doc
}

// operations returns the document's operations by "METHOD path".
func operations(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range httpMethods {
			if op, ok := item[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return out
}

var authNames = map[authMode]string{authPublic: "public", authTenant: "tenant", authAdmin: "admin"}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	ops := operations(mustSpec(t))
	var s Server
	routes := map[string]route{}
	for _, r := range s.routes() {
		routes[r.Method+" "+r.Pattern] = r
	}
	if got, want := len(routes), len(s.Routes()); got != want {
		t.Fatalf("route table has %d distinct routes but Routes() lists %d", got, want)
	}
	for _, key := range sortedKeys(routes) {
		if _, ok := ops[key]; !ok {
			t.Errorf("route %s is not documented in assets/openapi.json", key)
		}
	}
	for _, key := range sortedKeys(ops) {
		if _, ok := routes[key]; !ok {
			t.Errorf("assets/openapi.json documents %s, which is not in the route table", key)
		}
	}
	for _, key := range sortedKeys(routes) {
		op, ok := ops[key]
		if !ok {
			continue
		}
		r := routes[key]
		t.Run(key, func(t *testing.T) {
			if op["summary"] != r.Summary {
				t.Errorf("summary = %q, route table says %q", op["summary"], r.Summary)
			}
			if got, want := op["x-callscope-auth"], authNames[r.Auth]; got != want {
				t.Errorf("x-callscope-auth = %v, route table says %q", got, want)
			}
			sec, hasSec := op["security"].([]any)
			switch {
			case !hasSec:
				t.Errorf("no security list; public routes need security: [] and the others the API key schemes")
			case r.Auth == authPublic && len(sec) != 0:
				t.Errorf("public route has security %v, want []", sec)
			case r.Auth != authPublic && len(sec) == 0:
				t.Errorf("route needs an API key but documents security: []")
			}
			if r.Auth != authPublic {
				for _, code := range []string{"401", "403", "429"} {
					if !hasResponse(op, code) {
						t.Errorf("authenticated route does not document %s", code)
					}
				}
			}
		})
	}
}

func hasResponse(op map[string]any, code string) bool {
	rs, _ := op["responses"].(map[string]any)
	_, ok := rs[code]
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolve returns the value a local JSON pointer ("#/components/…") names.
func resolve(doc map[string]any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not a local reference", ref)
	}
	var cur any = doc
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// deref follows $ref until it reaches an object without one.
func deref(tb testing.TB, doc map[string]any, v any) map[string]any {
	tb.Helper()
	for range 10 {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var err error
		if v, err = resolve(doc, ref); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Fatalf("$ref chain too long at %v", v)
	return nil
}

// wildcards returns the wildcard names of a ServeMux pattern's path; they
// are OpenAPI path templates too ("{name...}" matches the rest of the path).
func wildcards(path string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\{([^}]*)\}`).FindAllStringSubmatch(path, -1) {
		if name := strings.TrimSuffix(m[1], "..."); name != "$" {
			out = append(out, name)
		}
	}
	return out
}

func TestOpenAPIValid(t *testing.T) {
	doc := mustSpec(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	for _, f := range []string{"title", "version"} {
		if s, _ := info[f].(string); s == "" {
			t.Errorf("info.%s is missing", f)
		}
	}

	t.Run("RefsResolve", func(t *testing.T) {
		var walk func(v any, at string)
		walk = func(v any, at string) {
			switch v := v.(type) {
			case map[string]any:
				if ref, ok := v["$ref"].(string); ok {
					if _, err := resolve(doc, ref); err != nil {
						t.Errorf("%s: %v", at, err)
					}
				}
				for k, c := range v {
					walk(c, at+"/"+k)
				}
			case []any:
				for i, c := range v {
					walk(c, at+"/"+strconv.Itoa(i))
				}
			}
		}
		walk(doc, "#")
	})

	tags := map[string]bool{}
	for _, tg := range doc["tags"].([]any) {
		tags[tg.(map[string]any)["name"].(string)] = true
	}
	schemes, _ := deref(t, doc, doc["components"])["securitySchemes"].(map[string]any)
	opIDs := map[string]string{}
	ops := operations(doc)
	for _, key := range sortedKeys(ops) {
		op := ops[key]
		path := strings.SplitN(key, " ", 2)[1]
		t.Run(key, func(t *testing.T) {
			if s, _ := op["summary"].(string); s == "" {
				t.Error("no summary")
			}
			if id, _ := op["operationId"].(string); id == "" {
				t.Error("no operationId")
			} else if other, dup := opIDs[id]; dup {
				t.Errorf("operationId %q is also used by %s", id, other)
			} else {
				opIDs[id] = key
			}
			opTags, _ := op["tags"].([]any)
			if len(opTags) == 0 {
				t.Error("no tag")
			}
			for _, tg := range opTags {
				if !tags[tg.(string)] {
					t.Errorf("tag %q is not declared in the top-level tags", tg)
				}
			}
			rs, _ := op["responses"].(map[string]any)
			if len(rs) == 0 {
				t.Error("no responses")
			}
			for code, r := range rs {
				if n, err := strconv.Atoi(code); (err != nil || n < 100 || n > 599) && code != "default" {
					t.Errorf("response code %q is not an HTTP status", code)
				}
				if d, _ := deref(t, doc, r)["description"].(string); d == "" {
					t.Errorf("response %s has no description", code)
				}
			}
			for _, req := range op["security"].([]any) {
				for name := range req.(map[string]any) {
					if _, ok := schemes[name]; !ok {
						t.Errorf("security scheme %q is not declared", name)
					}
				}
			}
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				p := deref(t, doc, p)
				name, _ := p["name"].(string)
				if p["in"] != "path" {
					continue
				}
				declared[name] = true
				if p["required"] != true {
					t.Errorf("path parameter %q is not required: true", name)
				}
				if !slices.Contains(wildcards(path), name) {
					t.Errorf("path parameter %q is not in the path template", name)
				}
			}
			for _, w := range wildcards(path) {
				if !declared[w] {
					t.Errorf("path template names {%s} but no parameter declares it in: path, required: true", w)
				}
			}
		})
	}
}

// TestOpenAPISchemasMatchViews compares the documented schemas with the Go
// types the handlers encode and decode: the same JSON names, compatible
// types, and for answers, required exactly when the field is never left
// out and nullable exactly when it is a pointer.
func TestOpenAPISchemasMatchViews(t *testing.T) {
	doc := mustSpec(t)
	schemas := deref(t, doc, doc["components"])["schemas"].(map[string]any)
	for _, c := range []struct {
		schema string
		v      any
		answer bool
	}{
		{"CallSession", sessionView{}, true},
		{"CallListItem", callListItem{}, true},
		{"Segment", segmentView{}, true},
		{"ExternalID", callscope.ExternalID{}, true},
		{"Tenant", tenantView{}, true},
		{"APIKey", keyView{}, true},
		{"Check", Check{}, true},
		{"ModelStatus", ModelStatus{}, true},
		{"FieldError", callscope.FieldError{}, true},
		{"CallStats", callStatsView{}, true},
		{"Transcript", transcriptView{}, true},
		{"SegmentInput", segmentInput{}, false},
		{"SegmentWriteResult", appendSegmentsView{}, true},
		{"Translation", translationView{}, true},
		{"ProgressiveAnalysis", progressiveView{}, true},
		{"EvolutionSummary", evolutionData{}, true},
		{"EntityWindow", entityWindowView{}, true},
		{"ClassificationWindow", classificationWindowView{}, true},
		{"CallProcessing", processingView{}, true},
		{"StageError", callscope.StageError{}, true},
		{"StageRun", callscope.StageRun{}, true},
		{"ProcessingOverview", processingOverview{}, true},
		{"CallCreate", createCallRequest{}, false},
		{"TenantCreate", tenantRequest{}, false},
		{"TenantUpdate", tenantRequest{}, false},
		{"APIKeyCreate", keyRequest{}, false},
		{"Recording", recordingView{}, true},
		{"ProcessRequest", processRequest{}, false},
	} {
		t.Run(c.schema, func(t *testing.T) {
			s, ok := schemas[c.schema].(map[string]any)
			if !ok {
				t.Fatalf("components/schemas has no %s", c.schema)
			}
			props, _ := s["properties"].(map[string]any)
			required := map[string]bool{}
			for _, r := range asSlice(s["required"]) {
				required[r.(string)] = true
			}
			seen := map[string]bool{}
			typ := reflect.TypeOf(c.v)
			for i := range typ.NumField() {
				f := typ.Field(i)
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" || !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				seen[name] = true
				p, ok := props[name]
				if !ok {
					t.Errorf("%s.%s is sent as %q but the schema has no such property", typ.Name(), f.Name, name)
					continue
				}
				omit := strings.Contains(opts, "omitempty")
				ft := f.Type
				nullable := false
				if ft.Kind() == reflect.Pointer {
					ft, nullable = ft.Elem(), true
				}
				want := jsonType(ft)
				got, isNull := schemaTypes(t, doc, p)
				if !slices.Contains(got, want) {
					t.Errorf("property %q has type %v, but %s.%s (%s) encodes as %s", name, got, typ.Name(), f.Name, f.Type, want)
				}
				if !c.answer {
					continue
				}
				if required[name] == omit {
					t.Errorf("property %q: required = %v, but the field's omitempty = %v", name, required[name], omit)
				}
				if nullable && !isNull && !nonNullPointer[c.schema+"."+name] {
					t.Errorf("property %q is a pointer (%s) but the schema does not allow null", name, f.Type)
				}
				if !nullable && isNull {
					t.Errorf("property %q allows null but %s.%s (%s) is never null", name, typ.Name(), f.Name, f.Type)
				}
			}
			for name := range props {
				if !seen[name] {
					t.Errorf("schema property %q has no field in %s", name, typ.Name())
				}
			}
		})
	}
}

// TestOpenAPICallResultsPayloadMatchesFields holds CallResultsPayload to
// the fields and JSON types the results webhook validates
// (voicebot.Fields): the same names and types, null allowed wherever the
// webhook takes it as absent, and unknown fields allowed.
func TestOpenAPICallResultsPayloadMatchesFields(t *testing.T) {
	doc := mustSpec(t)
	s := deref(t, doc, deref(t, doc, doc["components"])["schemas"].(map[string]any)["CallResultsPayload"])
	props, _ := s["properties"].(map[string]any)
	for name, typ := range voicebot.Fields {
		p, ok := props[name]
		if !ok {
			t.Errorf("voicebot.Fields has %q but CallResultsPayload has no such property", name)
			continue
		}
		got, null := schemaTypes(t, doc, p)
		want := strings.Split(fmt.Sprint(typ), " or ") // "array or object"
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("property %q has type %v, but the webhook wants %v", name, got, want)
		}
		if name != "session_id" && !null {
			t.Errorf("property %q does not allow null, which the webhook takes as absent", name)
		}
	}
	for name := range props {
		if _, ok := voicebot.Fields[name]; !ok {
			t.Errorf("CallResultsPayload has property %q, which voicebot.Fields does not list", name)
		}
	}
	if !slices.Equal(asSlice(s["required"]), []any{"session_id"}) {
		t.Errorf("required = %v, want [session_id]", s["required"])
	}
	if s["additionalProperties"] != true {
		t.Error("CallResultsPayload does not allow additional properties, but unknown fields are kept")
	}
}

// nonNullPointer lists pointer fields the handler always sets.
var nonNullPointer = map[string]bool{
	"CallSession.start_time": true, // falls back to created_at
	"Transcript.segments":    true, // left out rather than null
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// jsonType is the JSON Schema type encoding/json writes for t.
func jsonType(t reflect.Type) string {
	if t == reflect.TypeOf(json.RawMessage{}) {
		return "object" // the views only hold JSON objects in raw fields
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		if t.String() == "time.Time" {
			return "string"
		}
		return "object"
	}
	return t.Kind().String()
}

// schemaTypes returns the JSON types a property schema allows besides
// null, and whether it allows null.
func schemaTypes(tb testing.TB, doc map[string]any, v any) (types []string, null bool) {
	tb.Helper()
	s := deref(tb, doc, v)
	if all := asSlice(s["allOf"]); len(all) > 0 {
		var out []string
		for _, a := range all {
			ts, n := schemaTypes(tb, doc, a)
			out, null = append(out, ts...), null || n
		}
		return out, null
	}
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	}
	if i := slices.Index(types, "null"); i >= 0 {
		types, null = slices.Delete(types, i, i+1), true
	}
	return types, null
}

func TestDocsRendersEveryOperation(t *testing.T) {
	doc := mustSpec(t)
	var s Server
	rec := httptest.NewRecorder()
	if err := s.handleDocs(rec, httptest.NewRequest("GET", "/docs", nil)); err != nil {
		t.Fatal(err)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	page := rec.Body.String()
	if !strings.HasPrefix(page, "<!doctype html>") {
		t.Errorf("page does not start with <!doctype html>: %.80q", page)
	}
	for _, r := range s.routes() {
		sec := regexp.MustCompile(`(?s)<section class="op" id="[^"]*">\s*<div class="head">\s*<span class="method m-` +
			r.Method + `">` + r.Method + `</span>\s*<code class="path">` + regexp.QuoteMeta(html.EscapeString(r.Pattern)) + `</code>`)
		if !sec.MatchString(page) {
			t.Errorf("page has no section for %s %s", r.Method, r.Pattern)
		}
	}
	for name := range deref(t, doc, doc["components"])["schemas"].(map[string]any) {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("page does not describe schema %s", name)
		}
	}
	// The page is served with a Content-Security-Policy that allows only
	// inline styles: no scripts, no external resources.
	for _, bad := range []string{"<script", "<link", "<img", "src=", `href="http`, "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q, which the Content-Security-Policy blocks", bad)
		}
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Error("page contains ZgotmplZ: the template wrote an unsafe value into an attribute")
	}
}

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

func TestDocsTypeLabel(t *testing.T) {
	for _, c := range []struct {
		schema string
		want   typeLabel
	}{
		{`{"type": "string"}`, typeLabel{Prefix: "string"}},
		{`{"type": ["string", "null"], "format": "date-time"}`, typeLabel{Prefix: "string (date-time)", Suffix: " | null"}},
		{`{"$ref": "#/components/schemas/Segment"}`, typeLabel{Ref: "Segment"}},
		{`{"allOf": [{"$ref": "#/components/schemas/Direction"}], "default": "inbound"}`, typeLabel{Ref: "Direction"}},
		{`{"type": "array", "items": {"$ref": "#/components/schemas/Segment"}}`, typeLabel{Prefix: "array of ", Ref: "Segment"}},
		{`{"type": "array", "items": {"type": "string"}}`, typeLabel{Prefix: "array of string"}},
		{`{"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Check"}}`, typeLabel{Prefix: "map of ", Ref: "Check"}},
		{`{"type": "object", "additionalProperties": true}`, typeLabel{Prefix: "object"}},
		{`{}`, typeLabel{}},
	} {
		if got := label(json.RawMessage(c.schema)); got != c.want {
			t.Errorf("label(%s) = %+v, want %+v", c.schema, got, c.want)
		}
	}
}

func TestDocsCodeSpans(t *testing.T) {
	got := string(codeSpans("Send `Authorization: Bearer <key>` & <b>not</b> this"))
	want := "Send <code>Authorization: Bearer &lt;key&gt;</code> &amp; &lt;b&gt;not&lt;/b&gt; this"
	if got != want {
		t.Errorf("codeSpans = %q, want %q", got, want)
	}
}
