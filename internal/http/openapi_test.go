package http

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/callscope/callscope"
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
		{"Deletion", deletionView{}, true},
		{"LegalHold", legalHoldView{}, true},
		{"LegalHoldCreate", legalHoldInput{}, false},
		{"Campaign", campaignView{}, true},
		{"CampaignCreate", campaignInput{}, false},
		{"CampaignContact", campaignContactInput{}, false},
		{"CampaignContacts", contactsInput{}, false},
		{"CampaignAttempt", campaignAttemptView{}, true},
		{"RedialRule", redialView{}, true},
		{"DoNotCallEntry", doNotCallView{}, true},
		{"DoNotCallCreate", doNotCallInput{}, false},
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

// TestOpenAPIEventTypes keeps the documented webhook event types those
// callscope records.
func TestOpenAPIEventTypes(t *testing.T) {
	doc := mustSpec(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"WebhookCreate", "WebhookUpdate"} {
		items := schemas[name].(map[string]any)["properties"].(map[string]any)["event_types"].(map[string]any)["items"].(map[string]any)
		var got []string
		for _, v := range items["enum"].([]any) {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, callscope.EventTypes) {
			t.Errorf("%s.event_types documents %v; callscope records %v", name, got, callscope.EventTypes)
		}
	}
}
