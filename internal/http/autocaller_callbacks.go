package http

import (
	"context"
	"net/http"

	"github.com/callscope/callscope"
)

// Callbacks of Auto-Caller calls: the tenant's callback secret, and the
// log and replay of a call's callback deliveries.

func (s *Server) handleAutoRotateSecret(w http.ResponseWriter, r *http.Request) error {
	if s.Callbacks == nil {
		return callscope.Errorf(callscope.EUNAVAILABLE, "Callbacks are not configured on this server")
	}
	tok, sig, err := s.Callbacks.RotateCallbackSecret(r.Context(), tenantID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"callbackToken": tok, "tokenHeader": CallbackTokenHeader, "signingSecret": sig})
	return nil
}

// callbackDeliveries returns the callback deliveries of a call, oldest
// first, as webhook deliveries (their message id is their event's id).
func (s *Server) callbackDeliveries(ctx context.Context, o *callscope.OutboundCall) ([]*callscope.WebhookDelivery, error) {
	ds, err := s.Store.Deliveries(ctx, o.TenantID, o.CallID)
	if err != nil {
		return nil, err
	}
	var out []*callscope.WebhookDelivery
	for _, d := range ds {
		if d.Channel == "callback" {
			out = append(out, &callscope.WebhookDelivery{Delivery: *d, MessageID: d.EventID})
		}
	}
	return out, nil
}

func (s *Server) handleAutoCallbacks(w http.ResponseWriter, r *http.Request) error {
	o, err := s.userCall(r)
	if err != nil {
		return err
	}
	ds, err := s.callbackDeliveries(r.Context(), o)
	if err != nil {
		return err
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	at, err := s.Store.DeliveryAttempts(r.Context(), ids)
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

func (s *Server) handleAutoReplayCallback(w http.ResponseWriter, r *http.Request) error {
	if s.Callbacks == nil {
		return callscope.Errorf(callscope.EUNAVAILABLE, "Callbacks are not configured on this server")
	}
	ref, err := callRef(r)
	if err != nil {
		return err
	}
	user, _, err := s.readUserBody(r)
	if err != nil {
		return err
	}
	o, err := s.Store.OutboundCall(r.Context(), tenantID(r), ref)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND || (err == nil && o.Call.UserID != user) {
		return callscope.Errorf(callscope.ENOTFOUND, "Call not found")
	} else if err != nil {
		return err
	}
	ds, err := s.callbackDeliveries(r.Context(), o)
	if err != nil {
		return err
	}
	id := r.PathValue("delivery_id")
	found := false
	for _, d := range ds {
		found = found || d.ID == id
	}
	if !found {
		return callscope.Errorf(callscope.ENOTFOUND, "Callback delivery not found")
	}
	d, err := s.Callbacks.ReplayCallback(r.Context(), o.TenantID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": d.ID, "message_id": d.MessageID, "status": d.Status})
	return nil
}

// CallbackTokenHeader carries a tenant's callback token on every callback
// (deliver.CallbackTokenHeader).
const CallbackTokenHeader = "X-Callback-Token"
