package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/callscope/callscope"
)

// actor names who a request acts as, for the erasure audit log and legal
// holds: the API key's id, or the trusted network.
func actor(r *http.Request) string {
	p := principal(r)
	switch {
	case p == nil:
		return "unknown"
	case p.KeyID == "":
		return "trusted_network"
	}
	return "api_key:" + p.KeyID
}

// deletionView is an entry of the erasure audit log.
type deletionView struct {
	ID        string         `json:"id"`
	CallID    string         `json:"call_id,omitempty"`
	Actor     string         `json:"actor"`
	Reason    string         `json:"reason,omitempty"`
	Removed   map[string]int `json:"removed"`
	CreatedAt string         `json:"created_at"`
}

func newDeletionView(d *callscope.Deletion) deletionView {
	return deletionView{ID: d.ID, CallID: d.CallID, Actor: d.Actor, Reason: d.Reason, Removed: d.Removed,
		CreatedAt: d.CreatedAt.Format(time.RFC3339Nano)}
}

// legalHoldView is a call's legal hold.
type legalHoldView struct {
	CallID    string `json:"call_id"`
	Reason    string `json:"reason"`
	SetBy     string `json:"set_by"`
	CreatedAt string `json:"created_at"`
}

func newLegalHoldView(h *callscope.LegalHold) legalHoldView {
	return legalHoldView{CallID: h.CallID, Reason: h.Reason, SetBy: h.SetBy, CreatedAt: h.CreatedAt.Format(time.RFC3339Nano)}
}

// handleDeleteCall erases a call and everything recorded about it; a call
// under legal hold, or not yet over, is 409.
func (s *Server) handleDeleteCall(w http.ResponseWriter, r *http.Request) error {
	reason := r.URL.Query().Get("reason")
	if len(reason) > 1000 {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"query", "reason"},
			Msg: "At most 1000 characters", Type: "string_too_long"})
	}
	d, err := s.Calls.Erase(r.Context(), tenantID(r), r.PathValue("call_id"), actor(r), reason)
	if d == nil {
		return err
	}
	if err != nil {
		// The call is gone; what could not be removed from the recording
		// store is for the operator, not the caller.
		s.Logger.Error("erased call left recording objects", "call_id", d.CallID, "error", err)
	}
	writeJSON(w, http.StatusOK, newDeletionView(d))
	return nil
}

// legalHoldInput is the body of PUT …/legal-hold.
type legalHoldInput struct {
	Reason string `json:"reason"`
}

func (s *Server) handlePutLegalHold(w http.ResponseWriter, r *http.Request) error {
	var in legalHoldInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	if len(in.Reason) > 1000 {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "reason"},
			Msg: "At most 1000 characters", Type: "string_too_long"})
	}
	h, err := s.Calls.SetLegalHold(r.Context(), tenantID(r), r.PathValue("call_id"), actor(r), in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newLegalHoldView(h))
	return nil
}

func (s *Server) handleGetLegalHold(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Store.Call(r.Context(), tenantID(r), r.PathValue("call_id"))
	if err != nil {
		return err
	}
	h, err := s.Store.LegalHold(r.Context(), c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newLegalHoldView(h))
	return nil
}

func (s *Server) handleDeleteLegalHold(w http.ResponseWriter, r *http.Request) error {
	if err := s.Calls.LiftLegalHold(r.Context(), tenantID(r), r.PathValue("call_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleDeletions lists the tenant's erasure audit log, newest first.
func (s *Server) handleDeletions(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return callscope.ValidationError(callscope.FieldError{Loc: []string{"query", "limit"},
				Msg: "Input should be an integer from 1 to 1000", Type: "value_error"})
		}
		limit = n
	}
	ds, err := s.Store.Deletions(r.Context(), tenantID(r), limit)
	if err != nil {
		return err
	}
	out := make([]deletionView, len(ds))
	for i, d := range ds {
		out[i] = newDeletionView(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deletions": out})
	return nil
}
