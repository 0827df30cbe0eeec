package deliver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

var ctx = context.Background()

// quick is a retry schedule shrunk for tests.
var quick = []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}

// harness is a real store and a working queue with the webhook channel.
type harness struct {
	t      testing.TB
	store  *sqlstore.Store
	queue  *job.Queue
	hooks  *deliver.Webhooks
	tenant *callscope.Tenant
	call   *callscope.Call
}

func newHarness(t testing.TB, s *sqlstore.Store, hooks *deliver.Webhooks, workers int) *harness {
	t.Helper()
	if s == nil {
		s = sqlstoretest.Open(t, sqlstore.SQLite)
		if err := job.Migrate(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, store: s, hooks: hooks}
	h.start(workers)
	h.tenant = sqlstoretest.MustTenant(t, s)
	h.call = &callscope.Call{TenantID: h.tenant.ID, Direction: callscope.Inbound, From: "+254700000001", To: "116"}
	must(t, s.CreateCall(ctx, h.call))
	return h
}

// start starts a new queue working dispatch and webhook jobs.
func (h *harness) start(workers int) {
	h.t.Helper()
	h.hooks.Store = h.store
	ws := river.NewWorkers()
	river.AddWorker(ws, &job.DispatchEventWorker{Store: h.store, Channels: []job.Channel{h.hooks}})
	river.AddWorker(ws, h.hooks.Worker())
	q, err := job.New(h.store, ws, job.Config{PollInterval: 20 * time.Millisecond, Workers: workers})
	must(h.t, err)
	h.queue, h.hooks.Queue = q, q
	q.DispatchTo(h.hooks)
	must(h.t, q.Start(ctx))
	h.t.Cleanup(func() { q.Stop(context.Background()) })
}

func (h *harness) endpoint(url string, types ...string) *callscope.WebhookEndpoint {
	h.t.Helper()
	ep := &callscope.WebhookEndpoint{TenantID: h.tenant.ID, URL: url, EventTypes: types, Enabled: true, Secret: deliver.NewSecret()}
	must(h.t, h.store.CreateWebhookEndpoint(ctx, ep))
	return ep
}

// events records n call.completed events, up to 100 per transaction.
func (h *harness) events(n int) []*callscope.Event {
	h.t.Helper()
	var out []*callscope.Event
	for n > 0 {
		k := min(n, 100)
		n -= k
		must(h.t, h.store.InTx(ctx, func(tx *sqlstore.Tx) error {
			for i := 0; i < k; i++ {
				e, err := h.queue.RecordEvent(ctx, tx, h.call, callscope.CallEndedData{CallRefData: callscope.RefOf(h.call), Status: callscope.CallCompleted})
				if err != nil {
					return err
				}
				out = append(out, e)
			}
			return nil
		}))
	}
	return out
}

func (h *harness) deliveries(ep *callscope.WebhookEndpoint) []*callscope.WebhookDelivery {
	h.t.Helper()
	ds, err := h.store.WebhookDeliveries(ctx, h.tenant.ID, ep.ID, 10000)
	must(h.t, err)
	return ds
}

// waitDone waits for every delivery to the endpoint to finish, and returns
// them.
func (h *harness) waitDone(ep *callscope.WebhookEndpoint, n int, within time.Duration) []*callscope.WebhookDelivery {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ds := h.deliveries(ep)
		done := 0
		for _, d := range ds {
			if d.Status != callscope.DeliveryPending {
				done++
			}
		}
		if len(ds) == n && done == n {
			return ds
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("after %v: %d deliveries, %d finished; want %d finished", within, len(ds), done, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) attempts(d *callscope.WebhookDelivery) []*callscope.DeliveryAttempt {
	h.t.Helper()
	at, err := h.store.DeliveryAttempts(ctx, []string{d.ID})
	must(h.t, err)
	return at[d.ID]
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// receiver is an httptest webhook receiver that answers with respond and
// records every request.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	respond  func(n int, w http.ResponseWriter)
}

type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

func newReceiver(t testing.TB, respond func(n int, w http.ResponseWriter)) *receiver {
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, received{time.Now(), r.Header.Clone(), b})
		n := len(rc.requests)
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(n, w)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

func loopback() egress.Policy { return egress.Policy{AllowPrivate: true} }

// TestWebhookRetriesUntilSuccess: a receiver failing three times then
// succeeding gets four signed requests with one webhook-id, and the log
// shows four attempts, one successful.
func TestWebhookRetriesUntilSuccess(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n <= 3 {
			http.Error(w, "not yet", http.StatusInternalServerError)
		}
	})
	h := newHarness(t, nil, &deliver.Webhooks{Policy: loopback(), Schedule: []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond,
		20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}}, 0)
	ep := h.endpoint(rc.URL)
	evs := h.events(1)
	ds := h.waitDone(ep, 1, 20*time.Second)
	d := ds[0]
	if d.Status != callscope.DeliverySucceeded || d.Attempts != 4 || d.MessageID != evs[0].ID || d.DeliveredAt == nil {
		t.Fatalf("delivery = %+v, want succeeded at attempt 4 with message id %s", d, evs[0].ID)
	}
	at := h.attempts(d)
	if len(at) != 4 {
		t.Fatalf("%d attempts logged, want 4", len(at))
	}
	for i, a := range at {
		want := 500
		if i == 3 {
			want = 200
		}
		if a.Attempt != i+1 || a.StatusCode != want || a.AttemptedAt.IsZero() {
			t.Fatalf("attempt %d = %+v, want status %d", i+1, a, want)
		}
	}
	if !strings.Contains(at[0].Response, "not yet") {
		t.Fatalf("attempt excerpt %q, want the receiver's answer", at[0].Response)
	}
	reqs := rc.got()
	if len(reqs) != 4 {
		t.Fatalf("receiver got %d requests, want 4", len(reqs))
	}
	wh, err := standardwebhooks.NewWebhook(ep.Secret)
	must(t, err)
	for i, r := range reqs {
		if id := r.header.Get("webhook-id"); id != evs[0].ID {
			t.Fatalf("request %d webhook-id = %q, want %q", i, id, evs[0].ID)
		}
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Fatalf("request %d does not verify: %v", i, err)
		}
	}
	body := string(reqs[0].body)
	if !strings.Contains(body, `"type":"call.completed"`) || !strings.Contains(body, `"call_id":"`+h.call.ID+`"`) ||
		!strings.Contains(body, `"timestamp":"`) {
		t.Fatalf("payload %s: want type, timestamp and data with the call id", body)
	}
}

// TestWebhookGoneDisablesEndpoint: a 410 answer disables the endpoint, with
// the reason recorded, and later events make no deliveries to it.
func TestWebhookGoneDisablesEndpoint(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
	h := newHarness(t, nil, &deliver.Webhooks{Policy: loopback(), Schedule: quick}, 0)
	ep := h.endpoint(rc.URL)
	h.events(1)
	d := h.waitDone(ep, 1, 20*time.Second)[0]
	if d.Status != callscope.DeliveryFailed || d.Attempts != 1 {
		t.Fatalf("delivery = %+v, want failed after one attempt", d)
	}
	got, err := h.store.WebhookEndpoint(ctx, h.tenant.ID, ep.ID)
	must(t, err)
	if got.Enabled || !strings.Contains(got.DisabledReason, "410") {
		t.Fatalf("endpoint enabled=%v reason=%q, want disabled for 410", got.Enabled, got.DisabledReason)
	}
	h.events(1)
	time.Sleep(300 * time.Millisecond)
	if n := len(h.deliveries(ep)); n != 1 || len(rc.got()) != 1 {
		t.Fatalf("%d deliveries, %d requests after disabling; want 1 and 1", n, len(rc.got()))
	}
}

// TestWebhookRetryAfter: a 429 with Retry-After holds the next attempt back
// that long, though the schedule says sooner.
func TestWebhookRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value func() string
	}{
		{"Seconds", func() string { return "2" }},
		{"HTTPDate", func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, func(n int, w http.ResponseWriter) {
				if n == 1 {
					w.Header().Set("Retry-After", tc.value())
					w.WriteHeader(http.StatusTooManyRequests)
				}
			})
			h := newHarness(t, nil, &deliver.Webhooks{Policy: loopback(), Schedule: quick}, 0)
			ep := h.endpoint(rc.URL)
			h.events(1)
			d := h.waitDone(ep, 1, 20*time.Second)[0]
			reqs := rc.got()
			if d.Status != callscope.DeliverySucceeded || len(reqs) != 2 {
				t.Fatalf("delivery %+v after %d requests, want success at the second", d, len(reqs))
			}
			if gap := reqs[1].at.Sub(reqs[0].at); gap < 1900*time.Millisecond {
				t.Fatalf("second attempt %v after the first, want at least the 2 s asked for", gap)
			}
		})
	}
}

// TestWebhookGivesUp: a receiver that never succeeds (here with a
// redirect, which counts as failure) gets one attempt per schedule step,
// then the delivery is failed.
func TestWebhookGivesUp(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusFound)
	})
	h := newHarness(t, nil, &deliver.Webhooks{Policy: loopback(), Schedule: quick}, 0)
	ep := h.endpoint(rc.URL)
	h.events(1)
	d := h.waitDone(ep, 1, 20*time.Second)[0]
	if d.Status != callscope.DeliveryFailed || d.Attempts != len(quick) || !strings.Contains(d.LastError, "gave up") {
		t.Fatalf("delivery = %+v, want failed after %d attempts", d, len(quick))
	}
	if n := len(rc.got()); n != len(quick) {
		t.Fatalf("receiver got %d requests, want %d (redirect not followed)", n, len(quick))
	}
	if at := h.attempts(d); len(at) != len(quick) || at[0].StatusCode != http.StatusFound {
		t.Fatalf("attempts = %+v", at)
	}
}

// TestWebhookPrivateRefusedAtSend: with the default policy, an endpoint
// stored with a loopback URL is never reached; the delivery fails at once.
func TestWebhookPrivateRefusedAtSend(t *testing.T) {
	rc := newReceiver(t, nil)
	h := newHarness(t, nil, &deliver.Webhooks{Schedule: quick}, 0)
	urls := []string{rc.URL, strings.Replace(rc.URL, "127.0.0.1", "localhost", 1)}
	var eps []*callscope.WebhookEndpoint
	for _, u := range urls {
		eps = append(eps, h.endpoint(u))
	}
	h.events(1)
	for i, ep := range eps {
		d := h.waitDone(ep, 1, 20*time.Second)[0]
		if d.Status != callscope.DeliveryFailed || !strings.Contains(d.LastError, "not allowed") {
			t.Fatalf("%s: delivery = %+v, want failed as not allowed", urls[i], d)
		}
		if at := h.attempts(d); len(at) != 1 || at[0].StatusCode != 0 || !strings.Contains(at[0].Error, "not allowed") {
			t.Fatalf("%s: attempts = %+v, want one refused", urls[i], at)
		}
	}
	if n := len(rc.got()); n != 0 {
		t.Fatalf("receiver got %d requests, want none", n)
	}
}

// TestWebhookRotationOverlap: after a rotation, messages carry two
// signatures, each verifying with its secret; after the overlap only the
// new one.
func TestWebhookRotationOverlap(t *testing.T) {
	rc := newReceiver(t, nil)
	var mu sync.Mutex
	now := time.Now()
	hooks := &deliver.Webhooks{Policy: loopback(), Schedule: quick, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	h := newHarness(t, nil, hooks, 0)
	ep := h.endpoint(rc.URL)
	old := ep.Secret
	deliver.RotateSecret(ep, now)
	must(t, h.store.UpdateWebhookEndpoint(ctx, ep))
	h.events(1)
	h.waitDone(ep, 1, 20*time.Second)
	r := rc.got()[0]
	if sigs := strings.Fields(r.header.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("webhook-signature %q, want two signatures", r.header.Get("webhook-signature"))
	}
	for _, s := range []string{old, ep.Secret} {
		wh, err := standardwebhooks.NewWebhook(s)
		must(t, err)
		// Verify each signature on its own, as a receiver knowing one secret would.
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Fatalf("does not verify with %s secret: %v", map[bool]string{true: "old", false: "new"}[s == old], err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(deliver.NewSecret())
	if wh.Verify(r.body, r.header) == nil {
		t.Fatal("verifies with an unrelated secret")
	}

	mu.Lock()
	now = now.Add(deliver.RotationOverlap + time.Minute)
	mu.Unlock()
	h.events(1)
	h.waitDone(ep, 2, 20*time.Second)
	r = rc.got()[1]
	if sigs := strings.Fields(r.header.Get("webhook-signature")); len(sigs) != 1 {
		t.Fatalf("after the overlap webhook-signature %q, want one signature", r.header.Get("webhook-signature"))
	}
}

// TestWebhookDeletedEndpointStops: a delivery whose endpoint is deleted
// between attempts stops.
func TestWebhookDeletedEndpointStops(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	h := newHarness(t, nil, &deliver.Webhooks{Policy: loopback(), Schedule: []time.Duration{0, time.Second, time.Second}}, 0)
	ep := h.endpoint(rc.URL)
	h.events(1)
	for len(rc.got()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	must(t, h.store.DeleteWebhookEndpoint(ctx, h.tenant.ID, ep.ID))
	d := h.waitDone(ep, 1, 20*time.Second)[0]
	if d.Status != callscope.DeliveryFailed || !strings.Contains(d.LastError, "deleted") || len(rc.got()) != 1 {
		t.Fatalf("delivery = %+v after %d requests, want failed as deleted after 1", d, len(rc.got()))
	}
}

// TestWebhookEventTypeFilter: an endpoint gets only the event types it
// asked for; an empty filter gets all.
func TestWebhookEventTypeFilter(t *testing.T) {
	rc := newReceiver(t, nil)
	h := newHarness(t, nil, &deliver.Webhooks{Policy: loopback(), Schedule: quick}, 0)
	all := h.endpoint(rc.URL)
	some := h.endpoint(rc.URL, callscope.EventTranscriptionReady)
	h.events(2)
	h.waitDone(all, 2, 20*time.Second)
	if n := len(h.deliveries(some)); n != 0 {
		t.Fatalf("filtered endpoint has %d deliveries, want 0", n)
	}
}

// fanOut records 1,000 events for 3 endpoints and waits until all 3,000
// deliveries succeed; it checks that each receiver saw each message once.
func fanOut(tb testing.TB) time.Duration {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path+" "+r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	tb.Cleanup(srv.Close)
	h := newHarness(tb, nil, &deliver.Webhooks{Policy: loopback(), Schedule: quick}, 50)
	var eps []*callscope.WebhookEndpoint
	for i := 0; i < 3; i++ {
		eps = append(eps, h.endpoint(fmt.Sprintf("%s/hook%d", srv.URL, i)))
	}
	start := time.Now()
	h.events(1000)
	for _, ep := range eps {
		for _, d := range h.waitDone(ep, 1000, time.Minute) {
			if d.Status != callscope.DeliverySucceeded {
				tb.Fatalf("delivery %+v not succeeded", d)
			}
		}
	}
	took := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3000 {
		tb.Fatalf("receivers saw %d distinct messages, want 3000", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			tb.Fatalf("%s received %d times", k, n)
		}
	}
	return took
}

// TestWebhookFanOut delivers 1,000 events to 3 endpoints on SQLite, each
// exactly once, and reports how long it took.
func TestWebhookFanOut(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	took := fanOut(t)
	t.Logf("1,000 events × 3 endpoints delivered in %v (SQLite)", took)
}

// BenchmarkWebhookFanOut reports seconds per 1,000 events × 3 endpoints.
func BenchmarkWebhookFanOut(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.ReportMetric(fanOut(b).Seconds(), "s/1000x3")
	}
}

// TestWebhookRetriesAcrossRestart: deliveries failing while the receiver is
// down are retried by a queue started after a restart; each message
// succeeds once, always under its own webhook-id.
func TestWebhookRetriesAcrossRestart(t *testing.T) {
	var up sync.Mutex
	down := true
	var mu sync.Mutex
	okByID := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up.Lock()
		isDown := down
		up.Unlock()
		if isDown {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		okByID[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer srv.Close()
	schedule := []time.Duration{0, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
	h := newHarness(t, nil, &deliver.Webhooks{Policy: loopback(), Schedule: schedule}, 0)
	ep := h.endpoint(srv.URL)
	evs := h.events(20)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds := h.deliveries(ep)
		tried := 0
		for _, d := range ds {
			if d.Attempts > 0 {
				tried++
			}
		}
		if tried == len(evs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries tried", tried, len(evs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, h.queue.Stop(ctx))
	up.Lock()
	down = false
	up.Unlock()
	h.hooks = &deliver.Webhooks{Policy: loopback(), Schedule: schedule}
	h.start(0)
	for _, d := range h.waitDone(ep, len(evs), 30*time.Second) {
		if d.Status != callscope.DeliverySucceeded {
			t.Fatalf("delivery %+v not succeeded after the restart", d)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(okByID) != len(evs) {
		t.Fatalf("receiver accepted %d distinct messages, want %d", len(okByID), len(evs))
	}
	for _, e := range evs {
		if okByID[e.ID] != 1 {
			t.Fatalf("message %s accepted %d times, want once", e.ID, okByID[e.ID])
		}
	}
}
