package deliver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/sqlstore"
)

// ChannelAgent names agent notification deliveries.
const ChannelAgent = "agent"

// AgentServiceName is the service name the health endpoint reports (seed 001 §3.13).
const AgentServiceName = "agent_notification_service"

// AgentNotifyArgs asks for one agent notification to be sent.
type AgentNotifyArgs struct {
	TenantID   string `json:"tenant_id"`
	CallID     string `json:"call_id"`
	EventID    string `json:"event_id"`
	DeliveryID string `json:"delivery_id"`
}

// Kind implements river.JobArgs. It is stable: stored jobs refer to it.
func (AgentNotifyArgs) Kind() string { return "agent.notify" }

// InsertOpts retries a notification for about a day.
func (AgentNotifyArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// Agent talks to tenants' agent notification services (seed 001): tokens
// cached until they expire, notifications as durable jobs, and the checks
// behind the health and test endpoints.
type Agent struct {
	Store *sqlstore.Store
	// Queue takes the agent.notify jobs; set once the queue exists.
	Queue  *job.Queue
	Egress egress.Policy
	// RootCAs, when set, are trusted in addition to the system's
	// (CALLSCOPE_AGENT_CA_FILE). Certificates are always verified.
	RootCAs *x509.CertPool
	// RequestTimeout bounds one outbound request.
	RequestTimeout time.Duration
	Logger         *slog.Logger

	mu     sync.Mutex
	tokens map[string]oauth2.TokenSource
}

var _ job.Channel = (*Agent)(nil)

// LoadCertPool returns the system's certificate pool plus the PEM
// certificates in file.
func LoadCertPool(file string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// AgentSetting returns a tenant's agent service configuration. Returns
// EINVALID when it is missing or incomplete.
func AgentSetting(t *callscope.Tenant) (*callscope.AgentServiceSetting, error) {
	var set callscope.AgentServiceSetting
	ok := t.Settings.AgentService != nil
	if ok {
		set = *t.Settings.AgentService
	}
	if !ok || set.URL == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "settings.%s.url is not set", callscope.SettingAgentService)
	}
	if set.TokenURL == "" || set.ClientID == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "settings.%s needs token_url and client_id", callscope.SettingAgentService)
	}
	switch set.Auth {
	case "", "oauth2", "basic":
	default:
		return nil, callscope.Errorf(callscope.EINVALID, "settings.%s.auth must be oauth2 or basic", callscope.SettingAgentService)
	}
	return &set, nil
}

func (a *Agent) client() *http.Client {
	timeout := a.RequestTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	c := a.Egress.Client(timeout)
	if tr, ok := c.Transport.(*http.Transport); ok {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: a.RootCAs}
	}
	return c
}

// newTokenSource returns an uncached token source for set.
func (a *Agent) newTokenSource(set *callscope.AgentServiceSetting) oauth2.TokenSource {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, a.client())
	if set.Auth == "basic" {
		return oauth2.ReuseTokenSource(nil, &basicTokenSource{set: *set, client: a.client()})
	}
	cc := clientcredentials.Config{ClientID: set.ClientID, ClientSecret: set.ClientSecret, TokenURL: set.TokenURL, Scopes: set.Scopes}
	return cc.TokenSource(ctx)
}

// tokenSource returns the cached token source of set; a changed setting
// gets a new one.
func (a *Agent) tokenSource(set *callscope.AgentServiceSetting) oauth2.TokenSource {
	b, _ := json.Marshal(set)
	sum := sha256.Sum256(b)
	key := hex.EncodeToString(sum[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tokens == nil {
		a.tokens = map[string]oauth2.TokenSource{}
	}
	ts, ok := a.tokens[key]
	if !ok {
		ts = a.newTokenSource(set)
		a.tokens[key] = ts
	}
	return ts
}

// forgetToken drops a cached token the service refused.
func (a *Agent) forgetToken(set *callscope.AgentServiceSetting) {
	b, _ := json.Marshal(set)
	sum := sha256.Sum256(b)
	a.mu.Lock()
	delete(a.tokens, hex.EncodeToString(sum[:]))
	a.mu.Unlock()
}

// basicTokenSource gets tokens from an endpoint taking Basic credentials.
type basicTokenSource struct {
	set    callscope.AgentServiceSetting
	client *http.Client
}

func (b *basicTokenSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(b.set.Scopes) > 0 {
		form.Set("scope", strings.Join(b.set.Scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.set.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(b.set.ClientID, b.set.ClientSecret)
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("token endpoint answered %d", resp.StatusCode)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		Token       string `json:"token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	t := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType}
	if t.AccessToken == "" {
		t.AccessToken = tr.Token
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("token endpoint returned no access_token")
	}
	if tr.ExpiresIn > 0 {
		t.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return t, nil
}

// wantsEvent reports whether an event of type typ is notified under the
// notify mode.
func wantsEvent(notify, typ string) bool {
	if typ == callscope.EventCallRiskRaised {
		return true // the realtime notification of seed 001, whatever the mode
	}
	if notify == "stage" {
		switch typ {
		case callscope.EventCallCompleted, callscope.EventCallFailed, callscope.EventTranscriptionReady,
			callscope.EventRecordingReady, callscope.EventAnalysisCompleted, callscope.EventProcessingFailed:
			return true
		}
		return false
	}
	return typ == callscope.EventAnalysisCompleted || typ == callscope.EventProcessingFailed
}

// Dispatch implements job.Channel: a notification for each event the
// tenant's notify mode asks for.
func (a *Agent) Dispatch(ctx context.Context, tx *sqlstore.Tx, ev *callscope.Event) error {
	if ev.CallID == "" {
		return nil
	}
	t, err := job.Memo(ctx, "tenant:"+ev.TenantID, func() (*callscope.Tenant, error) { return tx.Tenant(ctx, ev.TenantID) })
	if err != nil {
		return err
	}
	set, err := AgentSetting(t)
	if err != nil || !wantsEvent(set.Notify, ev.Type) {
		return nil
	}
	d := &callscope.Delivery{TenantID: ev.TenantID, CallID: ev.CallID, EventID: ev.ID, Channel: ChannelAgent, Target: set.URL}
	if err := tx.CreateDelivery(ctx, d); err != nil {
		return err
	}
	a.Queue.Enqueue(tx, AgentNotifyArgs{TenantID: ev.TenantID, CallID: ev.CallID, EventID: ev.ID, DeliveryID: d.ID}, nil)
	return nil
}

// AgentNotification is the JSON body posted to an agent service.
type AgentNotification struct {
	Event            string    `json:"event"`
	EventID          string    `json:"event_id,omitempty"`
	CallID           string    `json:"call_id"`
	Status           string    `json:"status,omitempty"`
	ProcessingStatus string    `json:"processing_status,omitempty"`
	From             string    `json:"from,omitempty"`
	To               string    `json:"to,omitempty"`
	Direction        string    `json:"direction,omitempty"`
	DurationSeconds  float64   `json:"duration_seconds"`
	Summary          string    `json:"summary,omitempty"`
	Data             any       `json:"data,omitempty"`
	Test             bool      `json:"test,omitempty"`
	Timestamp        time.Time `json:"timestamp"`
}

func notificationFor(c *callscope.Call, typ string, now time.Time) *AgentNotification {
	n := &AgentNotification{Event: typ, CallID: c.PublicID(), Status: string(c.Status),
		ProcessingStatus: string(c.ProcessingStatus), From: c.From, To: c.To, Direction: string(c.Direction),
		DurationSeconds: c.DurationSeconds, Timestamp: now.UTC()}
	var s nlp.Summary
	if json.Unmarshal(c.Summary, &s) == nil {
		n.Summary = s.Text
	}
	return n
}

// send posts a notification and returns the service's status code (0 when
// it gave none). A refused token is dropped from the cache.
func (a *Agent) send(ctx context.Context, set *callscope.AgentServiceSetting, n *AgentNotification) (int, error) {
	if err := a.Egress.CheckURL(ctx, set.URL); err != nil {
		return 0, river.JobCancel(err)
	}
	tok, err := a.tokenSource(set).Token()
	if err != nil {
		return 0, fmt.Errorf("agent service token: %w", err)
	}
	body, err := json.Marshal(n)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, set.URL, bytes.NewReader(body))
	if err != nil {
		return 0, river.JobCancel(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := a.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode/100 == 2:
		return resp.StatusCode, nil
	case resp.StatusCode == http.StatusUnauthorized:
		a.forgetToken(set)
		return resp.StatusCode, fmt.Errorf("agent service answered 401")
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return resp.StatusCode, fmt.Errorf("agent service answered %d", resp.StatusCode)
	}
	return resp.StatusCode, river.JobCancel(fmt.Errorf("agent service answered %d", resp.StatusCode))
}

// AgentWorker works agent.notify jobs.
type AgentWorker struct {
	river.WorkerDefaults[AgentNotifyArgs]
	*Agent
}

// Work implements river.Worker.
func (w *AgentWorker) Work(ctx context.Context, j *river.Job[AgentNotifyArgs]) error {
	a := j.Args
	d, err := findDelivery(ctx, w.Store, a.TenantID, a.CallID, a.DeliveryID)
	if err != nil {
		return river.JobCancel(err)
	}
	if d.Status == callscope.DeliverySucceeded {
		return nil
	}
	t, err := w.Store.Tenant(ctx, a.TenantID)
	if err != nil {
		return river.JobCancel(err)
	}
	set, err := AgentSetting(t)
	if err != nil {
		return finishDelivery(ctx, w.Store, d, j.JobRow, river.JobCancel(err))
	}
	c, err := w.Store.Call(ctx, a.TenantID, a.CallID)
	if err != nil {
		return river.JobCancel(err)
	}
	ev, err := w.Store.Event(ctx, a.EventID)
	if err != nil {
		return river.JobCancel(err)
	}
	n := notificationFor(c, ev.Type, w.Store.Now())
	n.EventID, n.Data = ev.ID, ev.Data
	_, err = w.send(ctx, set, n)
	return finishDelivery(ctx, w.Store, d, j.JobRow, err)
}

// AgentHealth is the agent service health report (seed 001 §3.13).
type AgentHealth struct {
	Status      string         `json:"status"` // healthy, unhealthy
	ServiceName string         `json:"service_name"`
	Timestamp   time.Time      `json:"timestamp"`
	Checks      AgentChecks    `json:"checks"`
	Details     map[string]any `json:"details"`
}

// AgentChecks are the individual checks of AgentHealth.
type AgentChecks struct {
	APIConnectivity bool `json:"api_connectivity"`
	Authentication  bool `json:"authentication"`
}

// Health checks that the tenant's agent service answers and that a token
// can be obtained, bypassing the token cache.
func (a *Agent) Health(ctx context.Context, t *callscope.Tenant) *AgentHealth {
	h := &AgentHealth{Status: "unhealthy", ServiceName: AgentServiceName, Timestamp: a.Store.Now().UTC(), Details: map[string]any{}}
	set, err := AgentSetting(t)
	if err != nil {
		h.Details["error"] = callscope.ErrorMessage(err)
		return h
	}
	h.Details["url"] = set.URL
	h.Details["auth"] = orDefaultString(set.Auth, "oauth2")
	if err := a.Egress.CheckURL(ctx, set.URL); err != nil {
		h.Details["api_connectivity_error"] = err.Error()
	} else if req, err := http.NewRequestWithContext(ctx, http.MethodHead, set.URL, nil); err != nil {
		h.Details["api_connectivity_error"] = err.Error()
	} else if resp, err := a.client().Do(req); err != nil {
		h.Details["api_connectivity_error"] = err.Error()
	} else {
		resp.Body.Close()
		h.Checks.APIConnectivity = resp.StatusCode < 500
		h.Details["api_status_code"] = resp.StatusCode
	}
	if _, err := a.testToken(ctx, set); err != nil {
		h.Details["authentication_error"] = err.Error()
	} else {
		h.Checks.Authentication = true
	}
	if h.Checks.APIConnectivity && h.Checks.Authentication {
		h.Status = "healthy"
	}
	return h
}

func orDefaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (a *Agent) testToken(ctx context.Context, set *callscope.AgentServiceSetting) (*oauth2.Token, error) {
	if err := a.Egress.CheckURL(ctx, set.TokenURL); err != nil {
		return nil, err
	}
	return a.newTokenSource(set).Token()
}

// AgentAuthResult is the answer of the test-auth endpoint (seed 001 §3.14).
type AgentAuthResult struct {
	Status         string `json:"status"` // success, failed
	TokenObtained  bool   `json:"token_obtained"`
	TokenExpiresIn int64  `json:"token_expires_in"`
}

// TestAuth obtains a fresh token from the tenant's token endpoint.
func (a *Agent) TestAuth(ctx context.Context, t *callscope.Tenant) *AgentAuthResult {
	r := &AgentAuthResult{Status: "failed"}
	set, err := AgentSetting(t)
	if err != nil {
		return r
	}
	tok, err := a.testToken(ctx, set)
	if err != nil {
		a.logger().WarnContext(ctx, "agent service authentication failed", "tenant_id", t.ID, "error", err)
		return r
	}
	r.Status, r.TokenObtained = "success", true
	if !tok.Expiry.IsZero() {
		r.TokenExpiresIn = int64(time.Until(tok.Expiry).Round(time.Second) / time.Second)
	}
	return r
}

// AgentNotifyResult is the answer of the test-notification endpoint (seed
// 001 §3.15).
type AgentNotifyResult struct {
	Status            string `json:"status"` // success, failed
	NotificationSent  bool   `json:"notification_sent"`
	AgentResponseCode int    `json:"agent_response_code"`
}

// TestNotification sends one notification for a call now, outside the
// queue. An unknown call id sends a test notification naming it.
func (a *Agent) TestNotification(ctx context.Context, t *callscope.Tenant, callRef string) (*AgentNotifyResult, error) {
	r := &AgentNotifyResult{Status: "failed"}
	set, err := AgentSetting(t)
	if err != nil {
		return r, nil
	}
	var n *AgentNotification
	c, err := a.Store.Call(ctx, t.ID, callRef)
	switch callscope.ErrorCode(err) {
	case "":
		n = notificationFor(c, "test", a.Store.Now())
	case callscope.ENOTFOUND:
		n = &AgentNotification{Event: "test", CallID: callRef, Timestamp: a.Store.Now().UTC()}
	default:
		return nil, err
	}
	n.Test = true
	code, err := a.send(ctx, set, n)
	r.AgentResponseCode = code
	if err != nil {
		a.logger().WarnContext(ctx, "agent test notification failed", "tenant_id", t.ID, "error", err)
		return r, nil
	}
	r.Status, r.NotificationSent = "success", true
	return r, nil
}

func (a *Agent) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}
