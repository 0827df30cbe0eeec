package deliver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

// ChannelCallback names deliveries to an outbound call's callbackUrl.
const ChannelCallback = "callback"

// CallbackTokenHeader carries the tenant's callback token, verbatim, on
// every callback (seed 002: "a secret token in the webhook request").
const CallbackTokenHeader = "X-Callback-Token"

// Callbacks is the delivery channel of the Auto-Caller API (seed 002): each
// event of an outbound call that has a callbackUrl is posted there in the
// seed's shape {eventType, callId, timestamp, data}, with the tenant's
// callback token in a header and signed per Standard Webhooks with the
// tenant's signing secret. Deliveries go through the webhook outbox: logged,
// retried on the same schedule, and sent by the same client (whose address
// policy is checked again on connect).
type Callbacks struct {
	Store *sqlstore.Store
	// Queue runs the deliveries; set it once the queue exists.
	Queue *job.Queue
	// Webhooks sends them.
	Webhooks *Webhooks
	// PublicURL, when set, makes recording URLs absolute.
	PublicURL string
}

var _ job.Channel = (*Callbacks)(nil)

// DeliverCallbackArgs asks for one attempt at sending a callback delivery;
// like DeliverWebhookArgs, a job run twice sends once.
type DeliverCallbackArgs struct {
	DeliveryID string `json:"delivery_id"`
	Attempt    int    `json:"attempt"`
	Step       int    `json:"step"`
}

// Kind implements river.JobArgs. It is stable: stored jobs refer to it.
func (DeliverCallbackArgs) Kind() string { return "callback.deliver" }

// Callback event types beyond the call's own: a status change on the way
// (the seed's app may ignore them), a cancelled call, and the summary.
const (
	CallbackStatus   = "call.status"
	CallbackCanceled = "call.cancelled"
	CallbackSummary  = "analysis.completed"
)

// CallbackPayload is the body posted for an event of an outbound call, or
// nil when the event is not sent to callbacks.
func (cb *Callbacks) CallbackPayload(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, e *callscope.Event) (json.RawMessage, error) {
	data := map[string]any{}
	typ := e.Type
	switch e.Type {
	case callscope.EventCallStarted:
		typ = CallbackStatus
		data["status"] = callscope.AutoStatus(callscope.CallInProgress)
		if c.AnsweredAt != nil {
			data["startTime"] = iso(*c.AnsweredAt)
		}
	case callscope.EventCallCompleted, callscope.EventCallFailed:
		var d callscope.CallEndedData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		status := callscope.AutoStatus(d.Status)
		switch status {
		case callscope.AutoFailed:
			typ = callscope.EventCallFailed
		case callscope.AutoCancelled:
			typ = CallbackCanceled
		default:
			typ = callscope.EventCallCompleted
		}
		data["status"] = status
		data["durationSeconds"] = int(d.DurationSeconds + 0.5)
		if d.EndedAt != nil {
			data["endTime"] = iso(*d.EndedAt)
		}
		if c.ErrorInfo != "" {
			data["errorInfo"] = c.ErrorInfo
		}
	case callscope.EventRecordingReady:
		var d callscope.RecordingReadyData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		data["recordingUrl"] = strings.TrimRight(cb.PublicURL, "/") + d.RecordingURL
	case callscope.EventTranscriptionReady:
		segs, err := tx.Segments(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, s := range segs {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			if s.Speaker != "" {
				b.WriteString(s.Speaker + ": ")
			}
			b.WriteString(s.Text)
		}
		data["transcriptionText"] = b.String()
	case callscope.EventAnalysisCompleted:
		var d callscope.AnalysisCompletedData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		typ = CallbackSummary
		data["aiSummary"] = d.Summary
	default:
		return nil, nil
	}
	return json.Marshal(map[string]any{"eventType": typ, "callId": c.PublicID(), "timestamp": iso(e.CreatedAt), "data": data})
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Dispatch implements job.Channel: in tx, a delivery to the call's
// callbackUrl and the job sending it. The event id is the message id.
func (cb *Callbacks) Dispatch(ctx context.Context, tx *sqlstore.Tx, e *callscope.Event) error {
	if e.CallID == "" {
		return nil
	}
	url, err := tx.CallbackURL(ctx, e.CallID)
	if err != nil || url == "" {
		return err
	}
	c, err := tx.Call(ctx, e.TenantID, e.CallID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	payload, err := cb.CallbackPayload(ctx, tx, c, e)
	if err != nil || payload == nil {
		return err
	}
	d := &callscope.WebhookDelivery{Delivery: callscope.Delivery{TenantID: e.TenantID, CallID: e.CallID, EventID: e.ID,
		Channel: ChannelCallback, Target: url, Payload: payload}, MessageID: e.ID}
	if err := tx.CreateWebhookDelivery(ctx, d); err != nil {
		return err
	}
	cb.Queue.Enqueue(tx, DeliverCallbackArgs{DeliveryID: d.ID, Attempt: 1}, nil)
	return nil
}

// Worker returns the queue worker that sends callback deliveries.
func (cb *Callbacks) Worker() river.Worker[DeliverCallbackArgs] { return &callbackWorker{cb: cb} }

type callbackWorker struct {
	river.WorkerDefaults[DeliverCallbackArgs]
	cb *Callbacks
}

// Work makes one attempt and records it, as a webhook delivery's.
func (cw *callbackWorker) Work(ctx context.Context, j *river.Job[DeliverCallbackArgs]) error {
	cb, w, args := cw.cb, cw.cb.Webhooks, j.Args
	d, err := cb.Store.WebhookDelivery(ctx, "", args.DeliveryID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if d.Status != callscope.DeliveryPending || d.Attempts >= args.Attempt {
		return nil
	}
	sec, err := cb.Store.CallbackSecret(ctx, d.TenantID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		d.Status, d.LastError = callscope.DeliveryFailed, "the tenant has no callback secret: create one, then replay"
		return cb.Store.UpdateDelivery(ctx, &d.Delivery)
	} else if err != nil {
		return err
	}
	started := w.now()
	secrets := []string{sec.SigningSecret}
	if sec.PreviousSigningSecret != "" && sec.PreviousExpiresAt != nil && started.Before(*sec.PreviousExpiresAt) {
		secrets = append(secrets, sec.PreviousSigningSecret)
	}
	a := w.post(ctx, d.Target, secrets, d, http.Header{CallbackTokenHeader: {sec.Token}})
	return w.finish(ctx, d, args.Attempt, args.Step, a, started, nil, func(attempt, step int) river.JobArgs {
		return DeliverCallbackArgs{DeliveryID: d.ID, Attempt: attempt, Step: step}
	})
}

// RotateCallbackSecret gives a tenant a new callback token and signing
// secret and returns them, to be shown once; the previous signing secret
// keeps signing next to the new one for RotationOverlap.
func (cb *Callbacks) RotateCallbackSecret(ctx context.Context, tenantID string) (string, string, error) {
	cs := &sqlstore.CallbackSecret{TenantID: tenantID, Token: "cbt_" + strings.TrimPrefix(NewSecret(), SecretPrefix),
		SigningSecret: NewSecret()}
	err := cb.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		old, err := tx.CallbackSecret(ctx, tenantID)
		switch {
		case err == nil:
			exp := time.Now().Add(RotationOverlap).UTC()
			cs.PreviousSigningSecret, cs.PreviousExpiresAt = old.SigningSecret, &exp
		case callscope.ErrorCode(err) != callscope.ENOTFOUND:
			return err
		}
		return tx.PutCallbackSecret(ctx, cs)
	})
	if err != nil {
		return "", "", err
	}
	return cs.Token, cs.SigningSecret, nil
}

// HasCallbackSecret reports whether the tenant has callback credentials.
func (cb *Callbacks) HasCallbackSecret(ctx context.Context, tenantID string) (bool, error) {
	_, err := cb.Store.CallbackSecret(ctx, tenantID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// ReplayCallback starts a new attempt series of a finished callback
// delivery of the tenant. Returns ENOTFOUND for an unknown delivery and
// ECONFLICT for one still being attempted.
func (cb *Callbacks) ReplayCallback(ctx context.Context, tenantID, deliveryID string) (*callscope.WebhookDelivery, error) {
	var d *callscope.WebhookDelivery
	err := cb.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if d, err = tx.WebhookDelivery(ctx, tenantID, deliveryID); err != nil {
			return err
		}
		if d.Channel != ChannelCallback {
			return callscope.Errorf(callscope.ENOTFOUND, "delivery not found")
		}
		if d.Status == callscope.DeliveryPending {
			return callscope.Errorf(callscope.ECONFLICT, "the delivery is still being attempted")
		}
		d.Status, d.LastError, d.DeliveredAt = callscope.DeliveryPending, "", nil
		if err := tx.UpdateDelivery(ctx, &d.Delivery); err != nil {
			return err
		}
		cb.Queue.Enqueue(tx, DeliverCallbackArgs{DeliveryID: d.ID, Attempt: d.Attempts + 1}, nil)
		return nil
	})
	return d, err
}
