package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/egress"
	cshttp "github.com/callscope/callscope/internal/http"
)

// TestBadInputEveryRoute sends malformed JSON, wrong types, missing fields
// and oversized bodies to every route that takes a body, and checks that
// each answers a 4xx in the documented error shape — never a 500.
func TestBadInputEveryRoute(t *testing.T) {
	e := newEnv(t, "sqlite", func(s *cshttp.Server) { s.MaxBodyBytes = 64 << 10 })
	r := e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "input-1"})
	wantStatus(t, r, 201)
	r = e.do("POST", "/api/v1/tenants/"+e.tenant.ID+"/api-keys", e.admin, map[string]any{})
	wantStatus(t, r, 201)
	keyID := r.json(t)["id"].(string)
	subst := strings.NewReplacer("{call_id}", "input-1", "{tenant_id}", e.tenant.ID, "{key_id}", keyID)

	bodies := map[string]string{
		"MalformedJSON":   `{"call_id": "x",`,
		"NotAnObject":     `[1, 2, 3]`,
		"WrongTypes":      `{"call_id": 12, "name": 5, "admin": "yes", "metadata": "x", "direction": true, "results_secret": [], "settings": 1}`,
		"Empty":           ``,
		"Null":            `null`,
		"TrailingGarbage": `{} {}`,
		"DeepNesting":     strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		"Oversized":       `{"call_id": "` + strings.Repeat("a", 17<<20) + `"}`,
		"BadUTF8":         "{\"name\": \"\xff\xfe\", \"call_id\": \"\xff\"}",
	}
	srv := &cshttp.Server{}
	for _, rt := range srv.JSONRoutes() {
		method, pattern, _ := strings.Cut(rt, " ")
		path := subst.Replace(pattern)
		for name, body := range bodies {
			t.Run(rt+"/"+name, func(t *testing.T) {
				r := e.do(method, path, e.admin, body, "X-Tenant-ID", e.tenant.ID, "X-CXBCore-Secret", resultsSecret)
				if r.Status < 400 || r.Status >= 500 {
					t.Fatalf("%s %s with %s: status %d: %s", method, path, name, r.Status, r.Body)
				}
				m := r.json(t)
				switch d := m["detail"].(type) {
				case string:
					if d == "" {
						t.Fatalf("empty detail: %s", r.Body)
					}
				case []any:
					for _, x := range d {
						fe := x.(map[string]any)
						if _, ok := fe["loc"].([]any); !ok || fe["msg"] == "" || fe["type"] == "" {
							t.Fatalf("field error shape: %s", r.Body)
						}
					}
				default:
					t.Fatalf("no detail: %s", r.Body)
				}
				if name == "Oversized" && r.Status != 413 {
					t.Fatalf("oversized body: status %d, want 413", r.Status)
				}
			})
		}
	}
}

func TestMissingRequiredField(t *testing.T) {
	e := newEnv(t, "sqlite")
	r := e.do("POST", "/api/v1/tenants", e.admin, map[string]any{"results_secret": "0123456789abcdef"})
	wantStatus(t, r, 422)
	d := r.json(t)["detail"].([]any)[0].(map[string]any)
	if loc := d["loc"].([]any); len(loc) != 2 || loc[1] != "name" || d["type"] != "missing" {
		t.Fatalf("detail = %v", d)
	}
}

// FuzzJSONRoutes feeds arbitrary bodies to every JSON route of the route
// table (each with the credentials it wants): whatever comes in, the answer
// is never a 5xx.
func FuzzJSONRoutes(f *testing.F) {
	for _, s := range []string{`{}`, `{"call_id":"a","direction":"inbound"}`, `{"name":"x"}`, `[`, `{"metadata":{"a":[1,{"b":null}]}}`,
		`{"start_time":"2025-01-01T00:00:00Z"}`, `{"start_time":"yesterday"}`, `{"external_ids":[{"kind":"k","value":""}]}`,
		`{"metadata":{"n":12345678901234567890}}`, `{"name":"a\u0000"}`, `[{"uniqueid":"1.2"}]`, `{"session_id":"s","stream_id":"x"}`} {
		f.Add(s)
	}
	for _, s := range sweepBodies {
		f.Add(s)
	}
	e := newEnv(f, "sqlite", func(s *cshttp.Server) { s.Egress = egress.Policy{AllowPrivate: true} })
	wantStatus(f, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "fuzz-1"}), 201)
	r := e.do("POST", "/api/v1/tenants", e.admin, map[string]any{"name": "fuzz other"})
	wantStatus(f, r, 201)
	other := r.json(f)["id"].(string)
	r = e.do("POST", "/api/analyzers", e.key, map[string]any{"name": "fuzz", "kind": "llm", "prompt": "p", "active": false})
	wantStatus(f, r, 201)
	analyzer := fmt.Sprint(r.json(f)["id"])
	r = e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"url": "http://127.0.0.1:9/hook", "enabled": false})
	wantStatus(f, r, 201)
	webhook := fmt.Sprint(r.json(f)["id"])
	r = e.do("POST", "/api/v1/contacts", e.key, map[string]any{"name": "fuzz contact"})
	wantStatus(f, r, 201)
	contact := fmt.Sprint(r.json(f)["id"])
	r = e.do("POST", "/api/v1/todos", e.key, map[string]any{"call_id": "fuzz-1", "text": "fuzz to-do"})
	wantStatus(f, r, 201)
	todo := fmt.Sprint(r.json(f)["id"])
	r = e.do("POST", "/api/v1/campaigns", e.key, map[string]any{"name": "fuzz campaign", "user_id": "fuzz"})
	wantStatus(f, r, 201)
	campaign := fmt.Sprint(r.json(f)["id"])
	subst := strings.NewReplacer("{call_id}", "fuzz-1", "{tenant_id}", other, "{id}", analyzer, "{webhook_id}", webhook, "{delivery_id}", "1",
		"{contact_id}", contact, "{todo_id}", todo, "{campaign_id}", campaign)
	type target struct {
		method, path, key string
		hdr               []string
	}
	var targets []target
	for _, rt := range e.server.JSONRoutes() {
		method, pattern, _ := strings.Cut(rt, " ")
		tg := target{method: method, path: subst.Replace(pattern), key: e.key}
		switch {
		case strings.HasPrefix(pattern, "/api/v1/tenants"):
			tg.key = e.admin
		case pattern == "/api/v1/call-results":
			tg.key, tg.hdr = "", []string{"X-CXBCore-Secret", resultsSecret}
		}
		if strings.Contains(tg.path, "{") {
			f.Fatalf("no fixture for %s", rt)
		}
		targets = append(targets, tg)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := *e
		e.t = t
		for _, tg := range targets {
			r := e.do(tg.method, tg.path, tg.key, body, tg.hdr...)
			if r.Status >= 500 {
				t.Fatalf("%s %s %q: %d %s", tg.method, tg.path, body, r.Status, r.Body)
			}
		}
	})
}
