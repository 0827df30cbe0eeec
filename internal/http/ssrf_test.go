package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/egress/egresstest"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/voicebot"
)

// ssrfForms are the ways of writing a URL host that reaches inside the
// network. literal forms are addresses (a resolver plays no part), so
// every outbound client refuses them whatever resolver it has; legacy forms
// are IPv4 notations only some resolvers read as addresses, refused at
// write time even when private addresses are allowed.
var ssrfForms = []struct {
	host            string
	literal, legacy bool
}{
	{host: "127.0.0.1", literal: true}, {host: "[::1]", literal: true},
	{host: "[::ffff:127.0.0.1]", literal: true}, {host: "[::ffff:7f00:1]", literal: true},
	{host: "[64:ff9b::7f00:1]", literal: true}, {host: "[::127.0.0.1]", literal: true}, {host: "[2002:7f00:1::1]", literal: true},
	{host: "[::1%25lo]", literal: true}, {host: "[::1%251]", literal: true}, {host: "[::%25lo]", literal: true},
	{host: "[fe80::1%25lo]", literal: true}, {host: "[fd00:ec2::254%25eth0]", literal: true}, {host: "[::ffff:127.0.0.1%25lo]", literal: true},
	{host: "0.0.0.0", literal: true}, {host: "[::]", literal: true}, {host: "[fe80::1]", literal: true},
	{host: "169.254.169.254", literal: true}, {host: "[fd00:ec2::254]", literal: true},
	{host: "10.0.0.1", literal: true}, {host: "172.16.0.1", literal: true}, {host: "192.168.1.1", literal: true},
	{host: "100.64.0.1", literal: true}, {host: "[fc00::1]", literal: true},
	{host: "2130706433", legacy: true}, {host: "0x7f000001", legacy: true}, {host: "0177.0.0.1", legacy: true}, {host: "127.1", legacy: true},
	{host: "localhost"}, {host: "localhost."}, {host: "api.localhost"},
	{host: "inside.test"}, {host: "inside6.test"}, {host: "metadata.test"}, {host: "mixed.test"},
}

// ssrfField is one place the API stores a URL callscope connects to later.
type ssrfField struct {
	name string
	loc  string // the field a refusal names
	ok   int    // the status of an accepted write
	set  func(e *env, u string, n int) response
}

var ssrfFields = []ssrfField{
	{"webhook url (create)", "body.url", 201, func(e *env, u string, _ int) response {
		return e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"url": u})
	}},
	{"webhook url (change)", "body.url", 200, func(e *env, u string, _ int) response {
		r := e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"url": "https://8.8.8.8/hook"})
		wantStatus(e.t, r, 201)
		return e.do("PATCH", "/api/v1/webhooks/"+r.json(e.t)["id"].(string), e.key, map[string]any{"url": u})
	}},
	{"settings.agent_service.url (create tenant)", "body.settings.agent_service.url", 201, func(e *env, u string, n int) response {
		return e.do("POST", "/api/v1/tenants", e.admin, map[string]any{"name": fmt.Sprintf("ssrf-%d", n), "settings": map[string]any{
			"agent_service": map[string]any{"url": u, "token_url": "https://8.8.8.8/token", "client_id": "c"}}})
	}},
	{"settings.agent_service.token_url (change tenant)", "body.settings.agent_service.token_url", 200, func(e *env, u string, _ int) response {
		return e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin, map[string]any{"settings": map[string]any{
			"agent_service": map[string]any{"url": "https://8.8.8.8/notify", "token_url": u, "client_id": "c"}}})
	}},
	{"settings.crm_push.url (change tenant)", "body.settings.crm_push.url", 200, func(e *env, u string, _ int) response {
		return e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin, map[string]any{"settings": map[string]any{
			"crm_push": map[string]any{"url": u}}})
	}},
	{"results recording_url", "body.recording_url", 200, func(e *env, u string, n int) response {
		return e.do("POST", "/api/v1/call-results", "", map[string]any{"session_id": fmt.Sprintf("ssrf-%d", n), "recording_url": u},
			"X-CXBCore-Secret", resultsSecret)
	}},
}

// errorLocs lists the fields a 422 names, as dotted paths.
func errorLocs(t testing.TB, r response) []string {
	t.Helper()
	var body struct {
		Detail []struct {
			Loc []string `json:"loc"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("422 body is not a validation error: %s", r.Body)
	}
	var out []string
	for _, d := range body.Detail {
		out = append(out, strings.Join(d.Loc, "."))
	}
	return out
}

// TestSSRFWriteTime writes every inside form into every URL field: each is
// refused with a 422 naming the field, and accepted when private addresses
// are allowed (CALLSCOPE_ALLOW_PRIVATE_URLS).
func TestSSRFWriteTime(t *testing.T) {
	port, hits := egresstest.InsideServer(t)
	res := egresstest.InsideResolver(t)
	strict := newEnv(t, "sqlite", func(s *cshttp.Server) { s.Egress = egress.Policy{Resolver: res} })
	open := newEnv(t, "sqlite", func(s *cshttp.Server) { s.Egress = egress.Policy{AllowPrivate: true, Resolver: res} })
	n := 0
	for _, fld := range ssrfFields {
		t.Run(fld.name, func(t *testing.T) {
			strict.t = t
			for _, f := range ssrfForms {
				n++
				u := "http://" + f.host + ":" + port + "/x"
				r := fld.set(strict, u, n)
				if r.Status != 422 {
					t.Errorf("%s: %d, want 422: %s", u, r.Status, r.Body)
				} else if locs := errorLocs(t, r); len(locs) != 1 || locs[0] != fld.loc {
					t.Errorf("%s: 422 names %v, want %s", u, locs, fld.loc)
				}
			}
		})
	}
	if hits.Load() != 0 {
		t.Errorf("a refused write reached the inside service %d times", hits.Load())
	}
	// Allowed, the same writes succeed (and the open server's webhooks
	// then do reach the inside service).
	for _, fld := range ssrfFields {
		t.Run(fld.name+" allowed", func(t *testing.T) {
			open.t = t
			for _, f := range ssrfForms {
				n++
				if f.legacy {
					continue
				}
				u := "http://" + f.host + ":" + port + "/x"
				if r := fld.set(open, u, n); r.Status != fld.ok {
					t.Errorf("allowed %s: %d, want %d: %s", u, r.Status, fld.ok, r.Body)
				}
			}
		})
	}
}

// TestWebhookZoneIDRefused: an IPv6 zone id took loopback past the check.
func TestWebhookZoneIDRefused(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, u := range []string{"http://[::1%25lo]:18247/x", "http://[::1%251]:18247/x", "http://[::%25lo]:18247/x",
		"http://[fe80::1%25lo]:18247/x", "http://[fd00:ec2::254%25eth0]/latest/meta-data/"} {
		r := e.do("POST", "/api/v1/webhooks", e.key, map[string]any{"url": u})
		wantStatus(t, r, 422)
		if locs := errorLocs(t, r); len(locs) != 1 || locs[0] != "body.url" {
			t.Errorf("%s: 422 names %v", u, locs)
		}
	}
}

// TestResultsZoneRecordingURLNotProxied: a results webhook naming an inside
// service by a zoned address was stored, and GET /recordings/{token}
// answered with what the inside service said.
func TestResultsZoneRecordingURLNotProxied(t *testing.T) {
	port, hits := egresstest.InsideServer(t)
	e := newEnv(t, "sqlite")
	token := voicebot.NewToken()
	r := e.do("POST", "/api/v1/call-results", "", map[string]any{"session_id": "zone-1",
		"recording_url": "http://[::1%25lo]:" + port + "/rec.wav", "recording_access_token": token}, "X-CXBCore-Secret", resultsSecret)
	wantStatus(t, r, 422)
	if locs := errorLocs(t, r); len(locs) != 1 || locs[0] != "body.recording_url" {
		t.Errorf("422 names %v", locs)
	}
	r = e.do("GET", "/recordings/"+token, "", nil)
	if r.Status == 200 || strings.Contains(string(r.Body), "internal service") {
		t.Errorf("GET /recordings/{token} = %d %s", r.Status, r.Body)
	}
	if hits.Load() != 0 {
		t.Errorf("the inside service was reached %d times", hits.Load())
	}
}

// TestSSRFRecordingProxyConnectTime stores recordings whose source is an
// inside address (as if written before the check, or by a name that later
// changed) and one behind a redirect from an allowed server: GET
// /recordings/{token} refuses each connection.
func TestSSRFRecordingProxyConnectTime(t *testing.T) {
	port, hits := egresstest.InsideServer(t)
	res := egresstest.InsideResolver(t)
	// The allowed server, on 127.0.0.2, redirects to ?to= or serves.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	must(t, err)
	origin := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, "http://"+to+":"+port+"/rec.wav", http.StatusFound)
			return
		}
		w.Write([]byte("allowed recording"))
	})}}
	origin.Start()
	t.Cleanup(origin.Close)
	e := newEnv(t, "sqlite", func(s *cshttp.Server) {
		s.Egress = egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, Resolver: res}
	})
	ctx := context.Background()
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "proxy-ssrf"}), 201)
	c, err := e.store.Call(ctx, e.tenant.ID, "proxy-ssrf")
	must(t, err)
	get := func(source string) response {
		rec := &callscope.Recording{TenantID: e.tenant.ID, CallID: c.ID, Channels: 1, SourceURL: source, AccessToken: voicebot.NewToken()}
		must(t, e.store.CreateRecording(ctx, rec))
		return e.do("GET", "/recordings/"+rec.AccessToken, "", nil)
	}
	if r := get(origin.URL + "/rec.wav"); r.Status != 200 || string(r.Body) != "allowed recording" {
		t.Fatalf("allowed source: %d %s", r.Status, r.Body)
	}
	for _, f := range ssrfForms {
		if r := get("http://" + f.host + ":" + port + "/rec.wav"); r.Status != 503 {
			t.Errorf("source %s: %d %s, want 503", f.host, r.Status, r.Body)
		}
		if r := get(origin.URL + "/?to=" + url.QueryEscape(f.host)); r.Status != 503 {
			t.Errorf("redirect to %s: %d %s, want 503", f.host, r.Status, r.Body)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the inside service was reached %d times", hits.Load())
	}
}

// TestSSRFAgentServiceConnectTime: agent service settings naming inside
// addresses (stored past the API) are not connected to by the health and
// test-auth checks.
func TestSSRFAgentServiceConnectTime(t *testing.T) {
	port, hits := egresstest.InsideServer(t)
	res := egresstest.InsideResolver(t)
	e := newEnv(t, "sqlite", func(s *cshttp.Server) { s.Egress = egress.Policy{Resolver: res} })
	ctx := context.Background()
	for _, f := range ssrfForms {
		for _, auth := range []string{"oauth2", "basic"} {
			base := "http://" + f.host + ":" + port
			_, err := e.store.UpdateTenant(ctx, e.tenant.ID, callscope.TenantUpdate{Settings: &callscope.Settings{AgentService: &callscope.AgentServiceSetting{
				URL: base + "/notify", TokenURL: base + "/token", ClientID: "c", ClientSecret: "s", Auth: auth}}})
			must(t, err)
			r := e.do("GET", "/api/v1/calls/agent-service/health", e.key, nil)
			wantStatus(t, r, 200)
			if h := r.json(t); h["status"] != "unhealthy" {
				t.Errorf("%s (%s): health = %s", f.host, auth, r.Body)
			}
			r = e.do("POST", "/api/v1/calls/agent-service/test-auth", e.key, nil)
			wantStatus(t, r, 200)
			if a := r.json(t); a["token_obtained"] != false {
				t.Errorf("%s (%s): test-auth = %s", f.host, auth, r.Body)
			}
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the inside service was reached %d times", hits.Load())
	}
}

// TestSSRFWebhookDeliveryConnectTime: an endpoint naming an inside address
// (stored past the API) gets no request; the delivery fails for good.
func TestSSRFWebhookDeliveryConnectTime(t *testing.T) {
	port, hits := egresstest.InsideServer(t)
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	// One attempt only: a failure that is not a refusal gives up at once.
	hooks := &deliver.Webhooks{Store: e.store, Policy: egress.Policy{Resolver: egresstest.InsideResolver(t)}, Schedule: []time.Duration{0}}
	worker := hooks.Worker()
	for _, f := range ssrfForms {
		ep := &callscope.WebhookEndpoint{TenantID: e.tenant.ID, URL: "http://" + f.host + ":" + port + "/hook", Enabled: true,
			EventTypes: []string{}, Secret: deliver.NewSecret()}
		must(t, e.store.CreateWebhookEndpoint(ctx, ep))
		d := &callscope.WebhookDelivery{Delivery: callscope.Delivery{TenantID: e.tenant.ID, Channel: deliver.ChannelWebhook, Target: ep.URL,
			Payload: json.RawMessage(`{"type":"test"}`)}, EndpointID: ep.ID, MessageID: "msg_" + callscope.NewID()}
		must(t, e.store.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.CreateWebhookDelivery(ctx, d) }))
		err := worker.Work(ctx, &river.Job[deliver.DeliverWebhookArgs]{JobRow: &rivertype.JobRow{Attempt: 1},
			Args: deliver.DeliverWebhookArgs{DeliveryID: d.ID, Attempt: 1}})
		if err != nil && !errors.Is(err, egress.ErrBlocked) {
			t.Errorf("%s: Work = %v", f.host, err)
		}
		got, err := e.store.WebhookDelivery(ctx, e.tenant.ID, d.ID)
		must(t, err)
		if got.Status == callscope.DeliverySucceeded {
			t.Errorf("%s: delivery succeeded", f.host)
		}
		if f.literal && (got.Status != callscope.DeliveryFailed || !strings.Contains(got.LastError, "not allowed")) {
			t.Errorf("%s: delivery %s: %s, want failed as not allowed", f.host, got.Status, got.LastError)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the inside service was reached %d times", hits.Load())
	}
}

// TestSSRFCRMPushConnectTime: a CRM push URL naming an inside address
// (stored past the API) gets no request; the delivery fails.
func TestSSRFCRMPushConnectTime(t *testing.T) {
	port, hits := egresstest.InsideServer(t)
	e := newEnv(t, "sqlite") // the CRM worker's policy refuses private addresses
	ctx := context.Background()
	var sessions []string
	for i, f := range ssrfForms {
		if !f.literal {
			continue // the test queue's CRM worker uses the system resolver
		}
		_, err := e.store.UpdateTenant(ctx, e.tenant.ID, callscope.TenantUpdate{Settings: &callscope.Settings{
			CRMPush: &callscope.CRMPushSetting{URL: "http://" + f.host + ":" + port + "/crm"}}})
		must(t, err)
		sid := fmt.Sprintf("crm-ssrf-%d", i)
		wantStatus(t, e.do("POST", "/api/v1/call-results", "", map[string]any{"session_id": sid}, "X-CXBCore-Secret", resultsSecret), 200)
		sessions = append(sessions, sid)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, sid := range sessions {
		c, err := e.store.Call(ctx, e.tenant.ID, sid)
		must(t, err)
		for {
			ds, err := e.store.Deliveries(ctx, e.tenant.ID, c.ID)
			must(t, err)
			var crm *callscope.Delivery
			for _, d := range ds {
				if d.Channel == deliver.ChannelCRM {
					crm = d
				}
			}
			if crm != nil && crm.Status == callscope.DeliveryFailed {
				if !strings.Contains(crm.LastError, "private or reserved") {
					t.Errorf("%s: CRM delivery failed with %q", crm.Target, crm.LastError)
				}
				break
			}
			if crm != nil && crm.Status == callscope.DeliverySucceeded {
				t.Fatalf("CRM push to %s succeeded", crm.Target)
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRM push of %s not finished: %+v", sid, crm)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the inside service was reached %d times", hits.Load())
	}
}
