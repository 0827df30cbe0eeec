package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/deliver"
)

// Webhook endpoints and their delivery log: endpoints receive the tenant's
// events signed per Standard Webhooks; each delivery lists its attempts and
// can be sent again.

// webhookView is a webhook endpoint as the API shows it. The secret is
// shown only when it is made (create, rotate).
type webhookView struct {
	ID                      string   `json:"id"`
	URL                     string   `json:"url"`
	Description             string   `json:"description"`
	EventTypes              []string `json:"event_types"`
	Enabled                 bool     `json:"enabled"`
	DisabledReason          string   `json:"disabled_reason,omitempty"`
	Secret                  string   `json:"secret,omitempty"`
	PreviousSecretExpiresAt string   `json:"previous_secret_expires_at,omitempty"`
	CreatedAt               string   `json:"created_at"`
	UpdatedAt               string   `json:"updated_at"`
}

func newWebhookView(ep *callscope.WebhookEndpoint, withSecret bool, now time.Time) webhookView {
	v := webhookView{ID: ep.ID, URL: ep.URL, Description: ep.Description, EventTypes: ep.EventTypes, Enabled: ep.Enabled,
		DisabledReason: ep.DisabledReason, CreatedAt: ep.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: ep.UpdatedAt.Format(time.RFC3339Nano)}
	if v.EventTypes == nil {
		v.EventTypes = []string{}
	}
	if withSecret {
		v.Secret = ep.Secret
	}
	if ep.PreviousSecret != "" && ep.PreviousSecretExpiresAt != nil && now.Before(*ep.PreviousSecretExpiresAt) {
		v.PreviousSecretExpiresAt = ep.PreviousSecretExpiresAt.Format(time.RFC3339)
	}
	return v
}

// webhookInput is the body of a create (every field) or change (the
// fields given) of an endpoint.
type webhookInput struct {
	URL         *string   `json:"url"`
	EventTypes  *[]string `json:"event_types"`
	Enabled     *bool     `json:"enabled"`
	Description *string   `json:"description"`
}

// apply validates the input and writes it to ep. The URL must pass the
// outbound policy.
func (s *Server) applyWebhookInput(r *http.Request, in *webhookInput, ep *callscope.WebhookEndpoint, create bool) error {
	var f []callscope.FieldError
	bad := func(field, msg, typ string) {
		f = append(f, callscope.FieldError{Loc: []string{"body", field}, Msg: msg, Type: typ})
	}
	switch {
	case in.URL == nil && create:
		bad("url", "Field required", "missing")
	case in.URL != nil:
		u := strings.TrimSpace(*in.URL)
		if len(u) > 2048 {
			bad("url", "URL is longer than 2048 characters", "string_too_long")
		} else if err := s.Egress.CheckURL(r.Context(), u); err != nil {
			bad("url", callscope.ErrorMessage(err), "value_error")
		} else {
			ep.URL = u
		}
	}
	if in.EventTypes != nil {
		types := []string{}
		for i, t := range *in.EventTypes {
			t = strings.TrimSpace(t)
			if !slices.Contains(callscope.EventTypes, t) {
				f = append(f, callscope.FieldError{Loc: []string{"body", "event_types", strconv.Itoa(i)},
					Msg:  "Unknown event type " + strconv.Quote(truncate(t, 100)) + "; use one of: " + strings.Join(callscope.EventTypes, ", "),
					Type: "enum"})
				continue
			}
			types = append(types, t)
		}
		if len(types) > 100 {
			bad("event_types", "At most 100 event types", "too_long")
		}
		ep.EventTypes = types
	}
	if in.Description != nil {
		if len(*in.Description) > 1000 {
			bad("description", "Description is longer than 1000 characters", "string_too_long")
		}
		ep.Description = *in.Description
	}
	if in.Enabled != nil {
		ep.Enabled = *in.Enabled
		if ep.Enabled {
			ep.DisabledReason = ""
		}
	}
	if len(f) > 0 {
		return callscope.ValidationError(f...)
	}
	return nil
}

// webhookNow is the clock of the webhook API.
func (s *Server) webhookNow() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) error {
	eps, err := s.Store.WebhookEndpoints(r.Context(), tenantID(r), false)
	if err != nil {
		return err
	}
	out := make([]webhookView, len(eps))
	for i, ep := range eps {
		out[i] = newWebhookView(ep, false, s.webhookNow())
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
	return nil
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhookInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	ep := &callscope.WebhookEndpoint{TenantID: tenantID(r), Enabled: true, EventTypes: []string{}, Secret: deliver.NewSecret()}
	if err := s.applyWebhookInput(r, &in, ep, true); err != nil {
		return err
	}
	if err := s.Store.CreateWebhookEndpoint(r.Context(), ep); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newWebhookView(ep, true, s.webhookNow()))
	return nil
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) error {
	ep, err := s.Store.WebhookEndpoint(r.Context(), tenantID(r), r.PathValue("webhook_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newWebhookView(ep, false, s.webhookNow()))
	return nil
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhookInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	ep, err := s.Store.WebhookEndpoint(r.Context(), tenantID(r), r.PathValue("webhook_id"))
	if err != nil {
		return err
	}
	if err := s.applyWebhookInput(r, &in, ep, false); err != nil {
		return err
	}
	if err := s.Store.UpdateWebhookEndpoint(r.Context(), ep); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newWebhookView(ep, false, s.webhookNow()))
	return nil
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.Store.DeleteWebhookEndpoint(r.Context(), tenantID(r), r.PathValue("webhook_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	ep, err := s.Store.WebhookEndpoint(r.Context(), tenantID(r), r.PathValue("webhook_id"))
	if err != nil {
		return err
	}
	deliver.RotateSecret(ep, s.webhookNow())
	if err := s.Store.UpdateWebhookEndpoint(r.Context(), ep); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newWebhookView(ep, true, s.webhookNow()))
	return nil
}

// deliveryView is a webhook delivery in the log, with its attempts.
type deliveryView struct {
	ID           string          `json:"id"`
	MessageID    string          `json:"message_id"`
	EventID      string          `json:"event_id"`
	CallID       string          `json:"call_id,omitempty"`
	Status       string          `json:"status"`
	AttemptCount int             `json:"attempt_count"`
	LastError    string          `json:"last_error,omitempty"`
	CreatedAt    string          `json:"created_at"`
	DeliveredAt  string          `json:"delivered_at,omitempty"`
	Attempts     []attemptView   `json:"attempts"`
	Payload      json.RawMessage `json:"payload,omitempty"`
}

// attemptView is one logged attempt.
type attemptView struct {
	Attempt    int    `json:"attempt"`
	At         string `json:"at"`
	StatusCode int    `json:"status_code,omitempty"`
	LatencyMS  int64  `json:"latency_ms"`
	Response   string `json:"response,omitempty"`
	Error      string `json:"error,omitempty"`
}

func newDeliveryView(d *callscope.WebhookDelivery, at []*callscope.DeliveryAttempt) deliveryView {
	v := deliveryView{ID: d.ID, MessageID: d.MessageID, EventID: d.EventID, CallID: d.CallID, Status: d.Status,
		AttemptCount: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt.Format(time.RFC3339Nano),
		Attempts: make([]attemptView, len(at)), Payload: d.Payload}
	if d.DeliveredAt != nil {
		v.DeliveredAt = d.DeliveredAt.Format(time.RFC3339Nano)
	}
	for i, a := range at {
		v.Attempts[i] = attemptView{Attempt: a.Attempt, At: a.AttemptedAt.Format(time.RFC3339Nano), StatusCode: a.StatusCode,
			LatencyMS: a.LatencyMS, Response: a.Response, Error: a.Error}
	}
	return v
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ep, err := s.Store.WebhookEndpoint(ctx, tenantID(r), r.PathValue("webhook_id"))
	if err != nil {
		return err
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return callscope.ValidationError(callscope.FieldError{Loc: []string{"query", "limit"},
				Msg: "Input should be an integer from 1 to 500", Type: "value_error"})
		}
		limit = n
	}
	ds, err := s.Store.WebhookDeliveries(ctx, ep.TenantID, ep.ID, limit)
	if err != nil {
		return err
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	at, err := s.Store.DeliveryAttempts(ctx, ids)
	if err != nil {
		return err
	}
	out := make([]deliveryView, len(ds))
	for i, d := range ds {
		out[i] = newDeliveryView(d, at[d.ID])
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
	return nil
}

func (s *Server) handleReplayDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Webhooks.Replay(r.Context(), tenantID(r), r.PathValue("webhook_id"), r.PathValue("delivery_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": d.ID, "message_id": d.MessageID, "status": d.Status})
	return nil
}

// truncate shortens s to at most n bytes for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
