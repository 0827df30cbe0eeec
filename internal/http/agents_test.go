package http_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/deliver"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/sqlstore"
)

// agentServers are an OAuth2 token endpoint and an agent service.
func agentServers(t *testing.T) (tokenURL, agentURL string) {
	t.Helper()
	tok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != "cs" || secret != "pw" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"t1","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(tok.Close)
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Authorization") != "Bearer t1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(agent.Close)
	return tok.URL + "/token", agent.URL + "/notify"
}

func TestAgentServiceEndpoints(t *testing.T) {
	e := newEnv(t, sqlstore.SQLite, func(s *cshttp.Server) { s.Egress.AllowPrivate = true })
	tokenURL, agentURL := agentServers(t)
	setting := map[string]any{"url": agentURL, "token_url": tokenURL, "client_id": "cs", "client_secret": "pw", "auth": "oauth2"}
	_, err := e.store.UpdateTenant(context.Background(), e.tenant.ID, callscope.TenantUpdate{Settings: ptr(callscope.SettingsOf(map[string]any{"agent_service": setting}))})
	must(t, err)

	r := e.do("GET", "/api/v1/calls/agent-service/health", e.key, nil)
	wantStatus(t, r, http.StatusOK)
	h := r.json(t)
	if got := keysOf(h); !reflect.DeepEqual(got, []string{"checks", "details", "service_name", "status", "timestamp"}) {
		t.Fatalf("health keys = %v", got)
	}
	if h["status"] != "healthy" || h["service_name"] != "agent_notification_service" ||
		!reflect.DeepEqual(h["checks"], map[string]any{"api_connectivity": true, "authentication": true}) {
		t.Fatalf("health = %s", r.Body)
	}

	r = e.do("POST", "/api/v1/calls/agent-service/test-auth", e.key, nil)
	wantStatus(t, r, http.StatusOK)
	if got := r.json(t); !reflect.DeepEqual(got, map[string]any{"status": "success", "token_obtained": true, "token_expires_in": 3600.0}) {
		t.Fatalf("test-auth = %s", r.Body)
	}

	r = e.do("POST", "/api/v1/calls/agent-service/test-notification?call_id=test_123", e.key, nil)
	wantStatus(t, r, http.StatusOK)
	if got := r.json(t); !reflect.DeepEqual(got, map[string]any{"status": "success", "notification_sent": true, "agent_response_code": 200.0}) {
		t.Fatalf("test-notification = %s", r.Body)
	}

	r = e.do("POST", "/api/v1/calls/agent-service/test-notification", e.key, nil)
	wantStatus(t, r, http.StatusUnprocessableEntity)

	t.Run("WrongSecret", func(t *testing.T) {
		setting["client_secret"] = "nope"
		_, err := e.store.UpdateTenant(context.Background(), e.tenant.ID, callscope.TenantUpdate{Settings: ptr(callscope.SettingsOf(map[string]any{"agent_service": setting}))})
		must(t, err)
		r := e.do("POST", "/api/v1/calls/agent-service/test-auth", e.key, nil)
		if got := r.json(t); !reflect.DeepEqual(got, map[string]any{"status": "failed", "token_obtained": false, "token_expires_in": 0.0}) {
			t.Fatalf("test-auth = %s", r.Body)
		}
		r = e.do("GET", "/api/v1/calls/agent-service/health", e.key, nil)
		var h struct {
			Status string          `json:"status"`
			Checks map[string]bool `json:"checks"`
		}
		must(t, json.Unmarshal(r.Body, &h))
		if h.Status != "unhealthy" || h.Checks["authentication"] || !h.Checks["api_connectivity"] {
			t.Fatalf("health = %s", r.Body)
		}
	})
}

// TestAgentServiceEndpointsTrustConfiguredCAs checks the agent endpoints
// over TLS: a service whose certificate no trusted authority signed is
// unreachable, and reachable once its authority is configured.
func TestAgentServiceEndpointsTrustConfiguredCAs(t *testing.T) {
	tok := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"t1","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(tok.Close)
	agent := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(agent.Close)
	setting := map[string]any{"url": agent.URL + "/notify", "token_url": tok.URL + "/token", "client_id": "cs", "client_secret": "pw", "auth": "oauth2"}
	pool := x509.NewCertPool()
	pool.AddCert(agent.Certificate())
	for _, tc := range []struct {
		name    string
		cas     *x509.CertPool
		healthy bool
	}{{"Untrusted", nil, false}, {"Trusted", pool, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sqlstore.SQLite, func(s *cshttp.Server) {
				s.Egress.AllowPrivate = true
				s.Agents = func() *deliver.Agent {
					return &deliver.Agent{Store: s.Store.(*sqlstore.Store), Egress: s.Egress, RootCAs: tc.cas}
				}
			})
			_, err := e.store.UpdateTenant(context.Background(), e.tenant.ID, callscope.TenantUpdate{Settings: ptr(callscope.SettingsOf(map[string]any{"agent_service": setting}))})
			must(t, err)
			r := e.do("GET", "/api/v1/calls/agent-service/health", e.key, nil)
			wantStatus(t, r, http.StatusOK)
			if got := r.json(t)["status"] == "healthy"; got != tc.healthy {
				t.Fatalf("health = %s", r.Body)
			}
			r = e.do("POST", "/api/v1/calls/agent-service/test-auth", e.key, nil)
			if got := r.json(t)["token_obtained"] == true; got != tc.healthy {
				t.Fatalf("test-auth = %s", r.Body)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
