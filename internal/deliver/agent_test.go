package deliver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

// agentFake is an OAuth2 token endpoint (client credentials, or Basic
// auth) and an agent service that accepts only the tokens it issued.
type agentFake struct {
	tokens   atomic.Int32
	mu       sync.Mutex
	notified []deliver.AgentNotification
	got      chan struct{}
	token    *httptest.Server
	agent    *httptest.Server
}

func newAgentFake(t *testing.T) *agentFake {
	t.Helper()
	f := &agentFake{got: make(chan struct{}, 16)}
	f.token = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			_ = r.ParseForm()
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		_ = r.ParseForm()
		if r.Method != http.MethodPost || id != "callscope" || secret != "s3cret" || r.PostForm.Get("grant_type") != "client_credentials" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		f.tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(f.token.Close)
	f.agent = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n deliver.AgentNotification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.notified = append(f.notified, n)
		f.mu.Unlock()
		f.got <- struct{}{}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(f.agent.Close)
	return f
}

func (f *agentFake) setting(auth, notify string) map[string]any {
	return map[string]any{callscope.SettingAgentService: map[string]any{"url": f.agent.URL + "/notify",
		"token_url": f.token.URL + "/token", "client_id": "callscope", "client_secret": "s3cret", "auth": auth, "notify": notify}}
}

func (f *agentFake) wait(t *testing.T, n int) []deliver.AgentNotification {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-f.got:
		case <-time.After(20 * time.Second):
			t.Fatalf("got %d notifications, want %d", i, n)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]deliver.AgentNotification(nil), f.notified...)
}

func agentEnv(t *testing.T) (*deliverEnv, *deliver.Agent) {
	agents := &deliver.Agent{Egress: egress.Policy{AllowPrivate: true}}
	env := mustDeliverEnv(t, []job.Channel{agents}, func(w *river.Workers, s *sqlstore.Store) {
		river.AddWorker(w, &deliver.AgentWorker{Agent: agents})
	})
	agents.Store, agents.Queue = env.store, env.queue
	env.start(t)
	return env, agents
}

func TestAgentNotifiesOnCompletionWithCachedToken(t *testing.T) {
	for _, auth := range []string{"oauth2", "basic"} {
		t.Run(auth, func(t *testing.T) {
			f := newAgentFake(t)
			env, _ := agentEnv(t)
			tn := mustTenantWith(t, env.store, f.setting(auth, ""))
			a := mustCall(t, env.store, tn.ID, 4)
			b := mustCall(t, env.store, tn.ID, 4)
			// call.completed is a stage, not the completion: only
			// analysis.completed is notified.
			recordEvents(t, env, callscope.EventCallCompleted, a)
			recordEvents(t, env, callscope.EventAnalysisCompleted, a)
			got := f.wait(t, 1)
			recordEvents(t, env, callscope.EventAnalysisCompleted, b)
			got = f.wait(t, 1)
			if len(got) != 2 || got[0].Event != callscope.EventAnalysisCompleted || got[0].CallID != a.PublicID() ||
				got[1].CallID != b.PublicID() || got[0].Summary != "Customer asked to move the delivery to Friday." {
				t.Fatalf("notifications = %+v", got)
			}
			if n := f.tokens.Load(); n != 1 {
				t.Fatalf("token endpoint called %d times, want 1 (cached until expiry)", n)
			}
			waitDelivery(t, env.store, tn.ID, a.ID, deliver.ChannelAgent, callscope.DeliverySucceeded)
		})
	}
}

func TestAgentStageMode(t *testing.T) {
	f := newAgentFake(t)
	env, _ := agentEnv(t)
	tn := mustTenantWith(t, env.store, f.setting("oauth2", "stage"))
	c := mustCall(t, env.store, tn.ID, 4)
	recordEvents(t, env, callscope.EventCallCompleted, c)
	recordEvents(t, env, callscope.EventTranscriptionReady, c)
	got := f.wait(t, 2)
	seen := map[string]bool{}
	for _, n := range got {
		seen[n.Event] = true
	}
	if !seen[callscope.EventCallCompleted] || !seen[callscope.EventTranscriptionReady] {
		t.Fatalf("stage notifications = %+v", got)
	}
}

func TestAgentChecks(t *testing.T) {
	f := newAgentFake(t)
	env, agents := agentEnv(t)
	ctx := context.Background()
	for _, auth := range []string{"oauth2", "basic"} {
		tn := mustTenantWith(t, env.store, f.setting(auth, ""))
		if r := agents.TestAuth(ctx, tn); *r != (deliver.AgentAuthResult{Status: "success", TokenObtained: true, TokenExpiresIn: 3600}) {
			t.Fatalf("%s: test auth = %+v", auth, r)
		}
		if h := agents.Health(ctx, tn); h.Status != "healthy" || !h.Checks.APIConnectivity || !h.Checks.Authentication ||
			h.ServiceName != "agent_notification_service" {
			t.Fatalf("%s: health = %+v", auth, h)
		}
	}
	bad := f.setting("oauth2", "")
	bad[callscope.SettingAgentService].(map[string]any)["client_secret"] = "wrong"
	tn := mustTenantWith(t, env.store, bad)
	if r := agents.TestAuth(ctx, tn); r.Status != "failed" || r.TokenObtained {
		t.Fatalf("wrong secret: test auth = %+v", r)
	}
	if h := agents.Health(ctx, tn); h.Status != "unhealthy" || !h.Checks.APIConnectivity || h.Checks.Authentication {
		t.Fatalf("wrong secret: health = %+v", h)
	}
	r, err := agents.TestNotification(ctx, tn, "test_123")
	if err != nil || r.Status != "failed" || r.NotificationSent {
		t.Fatalf("wrong secret: test notification = %+v, %v", r, err)
	}

	t.Run("PrivateAddressRefused", func(t *testing.T) {
		strict := &deliver.Agent{Store: env.store}
		tn := mustTenantWith(t, env.store, f.setting("oauth2", ""))
		if r := strict.TestAuth(ctx, tn); r.TokenObtained {
			t.Fatal("a token was fetched from a loopback address without the operator allowing it")
		}
	})
}

func waitDelivery(t *testing.T, s *sqlstore.Store, tenantID, callID, channel, status string) *callscope.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last []*callscope.Delivery
	for time.Now().Before(deadline) {
		ds, err := s.Deliveries(context.Background(), tenantID, callID)
		if err != nil {
			t.Fatal(err)
		}
		last = ds
		for _, d := range ds {
			if d.Channel == channel && d.Status == status {
				return d
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s delivery %s; deliveries %+v", channel, status, last)
	return nil
}
