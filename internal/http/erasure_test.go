package http_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestDeleteCall erases a call through the API: another tenant's key gets
// 404, a legal hold or a call still in progress gets 409, and afterwards
// the call, its recording's URL and its stored audio are gone and the audit
// log says who erased it.
func TestDeleteCall(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			r := e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "1761295415.999", "from": "+254711000111"})
			wantStatus(t, r, 201)
			id := r.json(t)["id"].(string)
			r = e.do("POST", "/api/v1/calls/1761295415.999/recording", e.key, wavBytes(), "Content-Type", "audio/wav")
			wantStatus(t, r, 201)
			recURL := r.json(t)["url"].(string)
			root := e.server.Recordings.(blob.Dir).Root
			if n := countFiles(t, root, id); n == 0 {
				t.Fatal("the uploaded recording is not in the store")
			}

			r = e.do("DELETE", "/api/v1/calls/1761295415.999", e.key, nil)
			wantStatus(t, r, 409) // still in progress
			wantStatus(t, e.do("POST", "/api/v1/calls/1761295415.999/end", e.key, nil), 200)

			other := sqlstoretest.MustTenant(t, e.store)
			_, otherKey, err := e.store.CreateAPIKey(t.Context(), other.ID, "", false)
			must(t, err)
			wantStatus(t, e.do("DELETE", "/api/v1/calls/"+id, otherKey, nil), 404)
			wantStatus(t, e.do("PUT", "/api/v1/calls/"+id+"/legal-hold", otherKey, map[string]any{"reason": "x"}), 404)

			wantStatus(t, e.do("GET", "/api/v1/calls/"+id+"/legal-hold", e.key, nil), 404)
			wantStatus(t, e.do("PUT", "/api/v1/calls/"+id+"/legal-hold", e.key, map[string]any{"reasn": "typo"}), 422)
			r = e.do("PUT", "/api/v1/calls/1761295415.999/legal-hold", e.key, map[string]any{"reason": "case 2026-114"})
			wantStatus(t, r, 200)
			if h := r.json(t); h["call_id"] != id || h["reason"] != "case 2026-114" || !strings.HasPrefix(h["set_by"].(string), "api_key:") {
				t.Fatalf("hold = %s", r.Body)
			}
			wantStatus(t, e.do("GET", "/api/v1/calls/"+id+"/legal-hold", e.key, nil), 200)
			r = e.do("DELETE", "/api/v1/calls/"+id, e.key, nil)
			wantStatus(t, r, 409)
			if !strings.Contains(string(r.Body), "legal hold") {
				t.Fatalf("409 does not say why: %s", r.Body)
			}
			wantStatus(t, e.do("DELETE", "/api/v1/calls/"+id+"/legal-hold", e.key, nil), 204)
			wantStatus(t, e.do("DELETE", "/api/v1/calls/"+id+"/legal-hold", e.key, nil), 204)

			r = e.do("DELETE", "/api/v1/calls/1761295415.999?reason=subject+request", e.key, nil)
			wantStatus(t, r, 200)
			del := r.json(t)
			removed := del["removed"].(map[string]any)
			if del["call_id"] != id || del["reason"] != "subject request" || removed["recordings"] != 1.0 || removed["recording_objects"] != 1.0 {
				t.Fatalf("deletion = %s", r.Body)
			}
			wantStatus(t, e.do("GET", "/api/v1/calls/"+id, e.key, nil), 404)
			wantStatus(t, e.do("GET", "/api/v1/calls/1761295415.999", e.key, nil), 404)
			wantStatus(t, e.do("GET", strings.TrimPrefix(recURL, e.url), "", nil), 404)
			wantStatus(t, e.do("DELETE", "/api/v1/calls/"+id, e.key, nil), 404)
			if n := countFiles(t, root, id); n != 0 {
				t.Fatalf("%d stored files still name the call", n)
			}

			r = e.do("GET", "/api/v1/deletions", e.key, nil)
			wantStatus(t, r, 200)
			log := r.json(t)["deletions"].([]any)
			if len(log) != 1 || log[0].(map[string]any)["call_id"] != id {
				t.Fatalf("audit log = %s", r.Body)
			}
			r = e.do("GET", "/api/v1/deletions", otherKey, nil)
			wantStatus(t, r, 200)
			if len(r.json(t)["deletions"].([]any)) != 0 {
				t.Fatalf("another tenant sees the audit log: %s", r.Body)
			}
			wantStatus(t, e.do("GET", "/api/v1/deletions?limit=0", e.key, nil), 422)
		})
	}
}

func countFiles(t *testing.T, root, needle string) int {
	t.Helper()
	n := 0
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(p, needle) {
			n++
		}
		return err
	}))
	return n
}
