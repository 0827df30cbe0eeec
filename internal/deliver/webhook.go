package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

// ChannelWebhook names webhook deliveries.
const ChannelWebhook = "webhook"

// DefaultSchedule is when the attempts of a webhook message are made,
// counted from the previous attempt: immediately, then after 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h and 10 h (Svix's schedule, as the Standard
// Webhooks spec suggests).
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// RotationOverlap is how long a rotated-out secret keeps signing messages
// next to the new one.
const RotationOverlap = 24 * time.Hour

// maxRetryAfter bounds how long a receiver's Retry-After can hold a
// message back.
const maxRetryAfter = 24 * time.Hour

// Webhooks is the webhook delivery channel: it records a delivery per
// matching endpoint for each event and sends them, signed, with retries.
type Webhooks struct {
	Store *sqlstore.Store
	// Queue runs the deliveries; set it once the queue exists.
	Queue *job.Queue
	// Policy says which addresses messages may be sent to.
	Policy egress.Policy
	// Schedule overrides DefaultSchedule (tests shrink it).
	Schedule []time.Duration
	// Jitter spreads each wait by up to this fraction either way; 0 means
	// 10 %, a negative value none.
	Jitter float64
	// Timeout bounds one request; 0 means 15 s.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	once   sync.Once
	client *http.Client
}

var _ job.Channel = (*Webhooks)(nil)

// DeliverWebhookArgs asks for one attempt at sending a webhook delivery.
// Attempt is the delivery's attempt number it makes (a job that finds the
// attempt already made does nothing, so a job run twice sends once); Step
// is its place in the retry schedule of the current attempt series.
type DeliverWebhookArgs struct {
	DeliveryID string `json:"delivery_id"`
	Attempt    int    `json:"attempt"`
	Step       int    `json:"step"`
}

// Kind implements river.JobArgs. It is stable: stored jobs refer to it.
func (DeliverWebhookArgs) Kind() string { return "webhook.deliver" }

func (w *Webhooks) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Webhooks) schedule() []time.Duration {
	if len(w.Schedule) > 0 {
		return w.Schedule
	}
	return DefaultSchedule
}

func (w *Webhooks) httpClient() *http.Client {
	w.once.Do(func() {
		timeout := w.Timeout
		if timeout <= 0 {
			timeout = 15 * time.Second
		}
		c := *w.Policy.Client(timeout)
		// A redirect is a failed attempt, not a new destination.
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		w.client = &c
	})
	return w.client
}

// Payload returns the body sent for an event: its type, time and data, the
// data carrying the call id.
func Payload(e *callscope.Event) (json.RawMessage, error) {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	var obj map[string]json.RawMessage
	if e.CallID != "" && json.Unmarshal(data, &obj) == nil && obj != nil {
		if _, ok := obj["call_id"]; !ok {
			obj["call_id"], _ = json.Marshal(e.CallID)
			var err error
			if data, err = json.Marshal(obj); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{e.Type, e.CreatedAt.UTC().Format(time.RFC3339), data})
}

// Dispatch implements job.Channel: in tx, a delivery per enabled endpoint
// of the event's tenant that wants its type, and a job sending each. The
// event id is the message id, so every attempt carries it as webhook-id.
func (w *Webhooks) Dispatch(ctx context.Context, tx *sqlstore.Tx, e *callscope.Event) error {
	eps, err := job.Memo(ctx, "webhook-endpoints:"+e.TenantID, func() ([]*callscope.WebhookEndpoint, error) {
		return tx.WebhookEndpoints(ctx, e.TenantID, true)
	})
	if err != nil || len(eps) == 0 {
		return err
	}
	var payload json.RawMessage
	for _, ep := range eps {
		if !ep.Wants(e.Type) {
			continue
		}
		if payload == nil {
			if payload, err = Payload(e); err != nil {
				return err
			}
		}
		d := &callscope.WebhookDelivery{Delivery: callscope.Delivery{TenantID: e.TenantID, CallID: e.CallID, EventID: e.ID,
			Channel: ChannelWebhook, Target: ep.URL, Payload: payload}, EndpointID: ep.ID, MessageID: e.ID}
		if err := tx.CreateWebhookDelivery(ctx, d); err != nil {
			return err
		}
		w.Queue.Enqueue(tx, DeliverWebhookArgs{DeliveryID: d.ID, Attempt: 1}, nil)
	}
	return nil
}

// Worker returns the queue worker that sends webhook deliveries.
func (w *Webhooks) Worker() river.Worker[DeliverWebhookArgs] { return &webhookWorker{w: w} }

type webhookWorker struct {
	river.WorkerDefaults[DeliverWebhookArgs]
	w *Webhooks
}

// attempt is the outcome of one request.
type attempt struct {
	status     int
	latency    time.Duration
	excerpt    string
	err        error
	retryAfter time.Duration
}

func (a *attempt) message() string {
	switch {
	case a.err != nil:
		return a.err.Error()
	case a.status >= 300 && a.status < 400:
		return fmt.Sprintf("answered %d: redirects are not followed", a.status)
	default:
		return fmt.Sprintf("answered %d", a.status)
	}
}

// Work makes one attempt and records it; on failure it schedules the next
// attempt of the series, in the same transaction, or gives up.
func (ww *webhookWorker) Work(ctx context.Context, j *river.Job[DeliverWebhookArgs]) error {
	w, args := ww.w, j.Args
	d, err := w.Store.WebhookDelivery(ctx, "", args.DeliveryID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil // the tenant is gone
	} else if err != nil {
		return err
	}
	if d.Status != callscope.DeliveryPending || d.Attempts >= args.Attempt {
		return nil // made already by an earlier run of this job
	}
	ep, err := w.Store.WebhookEndpoint(ctx, d.TenantID, d.EndpointID)
	switch {
	case callscope.ErrorCode(err) == callscope.ENOTFOUND:
		return w.stop(ctx, d, "the webhook endpoint was deleted")
	case err != nil:
		return err
	case !ep.Enabled:
		return w.stop(ctx, d, "the webhook endpoint is disabled")
	}

	started := w.now()
	a := w.send(ctx, ep, d)
	gone := func(tx *sqlstore.Tx) error {
		cur, err := tx.WebhookEndpoint(ctx, ep.TenantID, ep.ID)
		if err == nil {
			cur.Enabled = false
			cur.DisabledReason = fmt.Sprintf("answered 410 Gone to delivery %s at %s", d.ID, started.UTC().Format(time.RFC3339))
			err = tx.UpdateWebhookEndpoint(ctx, cur)
		}
		if err != nil && callscope.ErrorCode(err) != callscope.ENOTFOUND {
			return err
		}
		return nil
	}
	return w.finish(ctx, d, args.Attempt, args.Step, a, started, gone, func(attempt, step int) river.JobArgs {
		return DeliverWebhookArgs{DeliveryID: d.ID, Attempt: attempt, Step: step}
	})
}

// finish records one attempt of a delivery and its outcome: delivered,
// given up, or (in the same transaction) the job of its next attempt, made
// by again. gone runs, in the transaction, when the receiver answered 410.
func (w *Webhooks) finish(ctx context.Context, d *callscope.WebhookDelivery, attemptNo, step int, a *attempt, started time.Time,
	gone func(tx *sqlstore.Tx) error, again func(attempt, step int) river.JobArgs) error {
	return w.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.AddDeliveryAttempt(ctx, &callscope.DeliveryAttempt{DeliveryID: d.ID, Attempt: attemptNo, AttemptedAt: started,
			StatusCode: a.status, LatencyMS: a.latency.Milliseconds(), Response: a.excerpt, Error: errText(a.err)}); err != nil {
			return err
		}
		d.Attempts = attemptNo
		switch {
		case a.err == nil && a.status >= 200 && a.status < 300:
			now := w.now()
			d.Status, d.LastError, d.DeliveredAt = callscope.DeliverySucceeded, "", &now
		case a.err == nil && a.status == http.StatusGone:
			d.Status, d.LastError = callscope.DeliveryFailed, "answered 410 Gone: the endpoint was disabled"
			if gone != nil {
				if err := gone(tx); err != nil {
					return err
				}
			}
		case errors.Is(a.err, egress.ErrBlocked):
			d.Status, d.LastError = callscope.DeliveryFailed, a.message()
		default:
			d.LastError = a.message()
			sched := w.schedule()
			next := step + 1
			if next >= len(sched) {
				d.Status = callscope.DeliveryFailed
				d.LastError = fmt.Sprintf("gave up after %d attempts: %s", next, d.LastError)
				break
			}
			wait := w.jitter(sched[next])
			if a.retryAfter > wait {
				wait = a.retryAfter
			}
			w.Queue.Enqueue(tx, again(attemptNo+1, next), &river.InsertOpts{ScheduledAt: w.now().Add(wait)})
		}
		return tx.UpdateDelivery(ctx, &d.Delivery)
	})
}

// stop marks a delivery failed without an attempt.
func (w *Webhooks) stop(ctx context.Context, d *callscope.WebhookDelivery, why string) error {
	d.Status, d.LastError = callscope.DeliveryFailed, why
	return w.Store.UpdateDelivery(ctx, &d.Delivery)
}

func (w *Webhooks) jitter(d time.Duration) time.Duration {
	f := w.Jitter
	if f == 0 {
		f = 0.1
	}
	if f < 0 || d <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + f*(2*rand.Float64()-1)))
}

// send POSTs the delivery's payload to the endpoint, signed.
func (w *Webhooks) send(ctx context.Context, ep *callscope.WebhookEndpoint, d *callscope.WebhookDelivery) *attempt {
	now := w.now()
	secrets := []string{ep.Secret}
	if ep.PreviousSecret != "" && ep.PreviousSecretExpiresAt != nil && now.Before(*ep.PreviousSecretExpiresAt) {
		secrets = append(secrets, ep.PreviousSecret)
	}
	return w.post(ctx, ep.URL, secrets, d, nil)
}

// post POSTs a delivery's payload to url, signed per Standard Webhooks with
// every secret, with the extra headers.
func (w *Webhooks) post(ctx context.Context, url string, secrets []string, d *callscope.WebhookDelivery, extra http.Header) *attempt {
	a := &attempt{}
	now := w.now()
	sig, err := SignatureHeader(secrets, d.MessageID, now, d.Payload)
	if err != nil {
		a.err = err
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Payload))
	if err != nil {
		a.err = err
		return a
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "callscope-webhooks")
	req.Header.Set(HeaderID, d.MessageID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	start := time.Now()
	resp, err := w.httpClient().Do(req)
	a.latency = time.Since(start)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, sqlstore.MaxAttemptResponse))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	a.status, a.excerpt = resp.StatusCode, string(b)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		a.retryAfter = retryAfter(resp.Header.Get("Retry-After"), w.now())
	}
	return a
}

// retryAfter reads a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ReplayWebhook starts a new attempt series of a finished delivery to one
// of the tenant's endpoints: the same message, with the same webhook-id.
// Returns ENOTFOUND if the tenant has no such endpoint or delivery, and
// ECONFLICT if the delivery is still being attempted or the endpoint is
// disabled.
func ReplayWebhook(ctx context.Context, store *sqlstore.Store, q *job.Queue, tenantID, endpointID, deliveryID string) (*callscope.WebhookDelivery, error) {
	var d *callscope.WebhookDelivery
	err := store.InTx(ctx, func(tx *sqlstore.Tx) error {
		ep, err := tx.WebhookEndpoint(ctx, tenantID, endpointID)
		if err != nil {
			return err
		}
		if d, err = tx.WebhookDelivery(ctx, tenantID, deliveryID); err != nil {
			return err
		}
		if d.EndpointID != ep.ID {
			return callscope.Errorf(callscope.ENOTFOUND, "delivery not found")
		}
		if !ep.Enabled {
			return callscope.Errorf(callscope.ECONFLICT, "the webhook endpoint is disabled; enable it first")
		}
		if d.Status == callscope.DeliveryPending {
			return callscope.Errorf(callscope.ECONFLICT, "the delivery is still being attempted")
		}
		d.Status, d.LastError, d.DeliveredAt = callscope.DeliveryPending, "", nil
		if err := tx.UpdateDelivery(ctx, &d.Delivery); err != nil {
			return err
		}
		q.Enqueue(tx, DeliverWebhookArgs{DeliveryID: d.ID, Attempt: d.Attempts + 1}, nil)
		return nil
	})
	return d, err
}

// RotateSecret gives an endpoint a new secret; the old one keeps signing
// next to it for RotationOverlap.
func RotateSecret(ep *callscope.WebhookEndpoint, now time.Time) {
	exp := now.Add(RotationOverlap).UTC()
	ep.PreviousSecret, ep.PreviousSecretExpiresAt = ep.Secret, &exp
	ep.Secret = NewSecret()
}

// Replay is ReplayWebhook on the channel's store and queue.
func (w *Webhooks) Replay(ctx context.Context, tenantID, endpointID, deliveryID string) (*callscope.WebhookDelivery, error) {
	return ReplayWebhook(ctx, w.Store, w.Queue, tenantID, endpointID, deliveryID)
}
