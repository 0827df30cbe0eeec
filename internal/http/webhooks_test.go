package http_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/egress"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestWebhookEndpointsAPI: endpoints are created (secret shown once),
// read, changed, rotated and deleted within their tenant; URLs that reach
// inside the network are refused naming the field.
func TestWebhookEndpointsAPI(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			for _, u := range []string{"http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data",
				"http://localhost:9000/hook", "ftp://example.com/x"} {
				r := e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"url": u})
				if r.Status != 422 || !strings.Contains(string(r.Body), `"loc":["body","url"]`) {
					t.Fatalf("create %s: %d %s, want 422 naming url", u, r.Status, r.Body)
				}
			}
			if r := e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"event_types": []string{}}); r.Status != 422 ||
				!strings.Contains(string(r.Body), `"loc":["body","url"]`) {
				t.Fatalf("create without url: %d %s", r.Status, r.Body)
			}

			r := e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"url": "https://93.184.215.14/hook",
				"event_types": []string{"call.completed"}, "description": "CRM"})
			if r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			created := r.json(t)
			id, secret := created["id"].(string), created["secret"].(string)
			if !strings.HasPrefix(secret, "whsec_") || created["enabled"] != true || created["description"] != "CRM" {
				t.Fatalf("created = %v", created)
			}
			got := e.do("GET", "/api/v1/webhooks/"+id, e.key, nil).json(t)
			if _, shown := got["secret"]; shown || got["url"] != "https://93.184.215.14/hook" {
				t.Fatalf("get = %v, want the endpoint without its secret", got)
			}
			list := e.do("GET", "/api/v1/webhooks", e.key, nil).json(t)
			if ws := list["webhooks"].([]any); len(ws) != 1 {
				t.Fatalf("list = %v", list)
			}

			r = e.do("PATCH", "/api/v1/webhooks/"+id, e.key, map[string]any{"enabled": false, "event_types": []string{}})
			if p := r.json(t); r.Status != 200 || p["enabled"] != false || len(p["event_types"].([]any)) != 0 {
				t.Fatalf("patch: %d %s", r.Status, r.Body)
			}
			if r := e.do("PATCH", "/api/v1/webhooks/"+id, e.key, map[string]any{"url": "http://192.168.1.1/"}); r.Status != 422 ||
				!strings.Contains(string(r.Body), `"url"`) {
				t.Fatalf("patch to a private url: %d %s", r.Status, r.Body)
			}

			r = e.do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", e.key, nil)
			rot := r.json(t)
			if r.Status != 200 || rot["secret"] == secret || !strings.HasPrefix(rot["secret"].(string), "whsec_") {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			exp, err := time.Parse(time.RFC3339, rot["previous_secret_expires_at"].(string))
			if err != nil || exp.Sub(time.Now()) < 23*time.Hour || exp.Sub(time.Now()) > 25*time.Hour {
				t.Fatalf("previous_secret_expires_at = %v (%v), want in 24 h", rot["previous_secret_expires_at"], err)
			}
			ep, err := e.store.WebhookEndpoint(context.Background(), e.tenant.ID, id)
			must(t, err)
			if ep.PreviousSecret != secret || ep.Secret != rot["secret"] {
				t.Fatal("rotation not stored")
			}

			other := sqlstoretest.MustTenant(t, e.store)
			_, otherKey, err := e.store.CreateAPIKey(context.Background(), other.ID, "", false)
			must(t, err)
			for _, m := range []string{"GET", "PATCH", "DELETE"} {
				if r := e.do(m, "/api/v1/webhooks/"+id, otherKey, map[string]any{}); r.Status != 404 {
					t.Fatalf("%s from another tenant: %d, want 404", m, r.Status)
				}
			}
			if r := e.do("GET", "/api/v1/webhooks/"+id+"/deliveries", otherKey, nil); r.Status != 404 {
				t.Fatalf("deliveries from another tenant: %d, want 404", r.Status)
			}

			if r := e.do("DELETE", "/api/v1/webhooks/"+id, e.key, nil); r.Status != 204 {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			if r := e.do("GET", "/api/v1/webhooks/"+id, e.key, nil); r.Status != 404 {
				t.Fatalf("get after delete: %d", r.Status)
			}
		})
	}
}

// TestWebhookDeliveryLogAndReplay: a delivery that failed every attempt
// shows them in the log; a replay sends the same message (same
// webhook-id) again and succeeds.
func TestWebhookDeliveryLogAndReplay(t *testing.T) {
	var ok atomic.Bool
	var mu sync.Mutex
	var ids []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		mu.Unlock()
		if !ok.Load() {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
		}
	}))
	defer rc.Close()
	e := newEnv(t, sqlstore.SQLite, func(s *cshttp.Server) { s.Egress = egress.Policy{AllowPrivate: true} })
	r := e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"url": rc.URL})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)

	ctx := context.Background()
	c := &callscope.Call{TenantID: e.tenant.ID, Direction: callscope.Inbound, From: "+254700000001", To: "116"}
	must(t, e.store.CreateCall(ctx, c))
	var ev *callscope.Event
	must(t, e.store.InTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		ev, err = e.queue.RecordEvent(ctx, tx, c, callscope.CallEndedData{CallRefData: callscope.RefOf(c), Status: callscope.CallCompleted})
		return err
	}))

	deliveries := func(want string) []any {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			body := e.do("GET", "/api/v1/webhooks/"+id+"/deliveries", e.key, nil).json(t)
			ds := body["deliveries"].([]any)
			if len(ds) == 1 && ds[0].(map[string]any)["status"] == want {
				return ds
			}
			if time.Now().After(deadline) {
				t.Fatalf("deliveries = %v, want one %s", body, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ds := deliveries(callscope.DeliveryFailed)
	d := ds[0].(map[string]any)
	attempts := d["attempts"].([]any)
	if d["message_id"] != ev.ID || len(attempts) != 3 {
		t.Fatalf("failed delivery = %v, want 3 attempts of message %s", d, ev.ID)
	}
	a := attempts[0].(map[string]any)
	if a["status_code"] != float64(500) || !strings.Contains(a["response"].(string), "down for maintenance") || a["at"] == "" {
		t.Fatalf("attempt = %v", a)
	}

	ok.Store(true)
	r = e.do("POST", "/api/v1/webhooks/"+id+"/deliveries/"+d["id"].(string)+"/replay", e.key, nil)
	if r.Status != 202 {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	d = deliveries(callscope.DeliverySucceeded)[0].(map[string]any)
	if n := len(d["attempts"].([]any)); n != 4 || d["attempt_count"] != float64(4) {
		t.Fatalf("after replay %v, want 4 attempts", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 4 {
		t.Fatalf("receiver got %d requests, want 4", len(ids))
	}
	for _, got := range ids {
		if got != ev.ID {
			t.Fatalf("webhook-ids %v, want %s on every attempt", ids, ev.ID)
		}
	}
	if r := e.do("POST", "/api/v1/webhooks/"+id+"/deliveries/nope/replay", e.key, nil); r.Status != 404 {
		t.Fatalf("replay of an unknown delivery: %d", r.Status)
	}
}
