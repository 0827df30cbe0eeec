package http

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
)

// processRequest is the body of POST /api/v1/process (seed 000).
type processRequest struct {
	CallID   *string `json:"call_id"`
	TenantID *string `json:"tenant_id"`
	Force    bool    `json:"force"`
}

// decodeProcess reads and validates a process request; seed 000 answers
// 400 for invalid input.
func (s *Server) decodeProcess(r *http.Request) (*processRequest, *callscope.Call, error) {
	var req processRequest
	if err := decodeJSON(r, bodyLimit(r), &req); err != nil {
		return nil, nil, asBadRequest(err)
	}
	var f fields
	if req.CallID == nil {
		f.add("Field required", "missing", "body", "call_id")
	} else if len(*req.CallID) < 8 {
		f.add("String should have at least 8 characters", "string_too_short", "body", "call_id")
	} else {
		checkID(&f, *req.CallID, "body", "call_id")
	}
	if req.TenantID == nil {
		f.add("Field required", "missing", "body", "tenant_id")
	} else if len(*req.TenantID) < 3 {
		f.add("String should have at least 3 characters", "string_too_short", "body", "tenant_id")
	} else {
		checkText(&f, *req.TenantID, 200, "body", "tenant_id")
	}
	if err := f.err(); err != nil {
		return nil, nil, asBadRequest(err)
	}
	tenant, err := s.Store.Tenant(r.Context(), *req.TenantID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		tenant, err = s.Store.TenantByName(r.Context(), *req.TenantID)
	}
	p := principal(r)
	if err != nil || (tenant.ID != p.TenantID && !p.Admin) {
		if err == nil || callscope.ErrorCode(err) == callscope.ENOTFOUND {
			return nil, nil, callscope.Errorf(callscope.EFORBIDDEN, "This API key may not act for tenant %q: it belongs to tenant %s; send that as tenant_id",
				*req.TenantID, s.tenantLabel(r.Context(), p.TenantID))
		}
		return nil, nil, err
	}
	c, err := s.Store.Call(r.Context(), tenant.ID, *req.CallID)
	if err != nil {
		return nil, nil, err
	}
	return &req, c, nil
}

// asBadRequest turns a validation error into the 400 seed 000 documents.
func asBadRequest(err error) error {
	if e, ok := err.(*callscope.Error); ok && e.Code == callscope.EINVALID {
		return &callscope.Error{Code: callscope.EBADREQUEST, Message: e.Message, Fields: e.Fields}
	}
	return err
}

func processAnswer(w http.ResponseWriter, req *processRequest, outcome string) {
	writeJSON(w, http.StatusAccepted, map[string]any{"call_id": *req.CallID, "tenant_id": *req.TenantID,
		"enqueued": outcome == call.ProcessQueued, "status": outcome})
}

// handleProcess queues a call's post-call processing, idempotently (seed
// 000): a completed call answers already_completed, a queued or running one
// already_queued_or_in_progress, anything else is set pending and queued.
func (s *Server) handleProcess(w http.ResponseWriter, r *http.Request) error {
	req, c, err := s.decodeProcess(r)
	if err != nil {
		return err
	}
	outcome, err := s.Calls.RequestProcessing(r.Context(), c, false)
	if err != nil {
		return err
	}
	processAnswer(w, req, outcome)
	return nil
}

// handleReprocess runs a call's processing again: allowed for failed or
// pending calls; a completed call answers 409 unless the body says
// "force": true, which starts a new run (results are replaced; analyzer
// runs are appended).
func (s *Server) handleReprocess(w http.ResponseWriter, r *http.Request) error {
	req, c, err := s.decodeProcess(r)
	if err != nil {
		return err
	}
	outcome, err := s.Calls.RequestProcessing(r.Context(), c, req.Force)
	if err != nil {
		return err
	}
	if outcome == call.ProcessCompleted {
		return callscope.Errorf(callscope.ECONFLICT, "Call %s was already processed; send \"force\": true to process it again", *req.CallID)
	}
	processAnswer(w, req, outcome)
	return nil
}

// handleTriggerPipeline is seed 001 §3.8 on the same idempotent path: a
// call already queued, running or processed is not queued again. The
// X-Processing-Status header says which happened.
func (s *Server) handleTriggerPipeline(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Store.Call(r.Context(), tenantID(r), r.PathValue("call_id"))
	if err != nil {
		return err
	}
	outcome, err := s.Calls.RequestProcessing(r.Context(), c, false)
	if err != nil {
		return err
	}
	w.Header().Set("X-Processing-Status", strings.ReplaceAll(outcome, "_", "-"))
	writeJSON(w, http.StatusOK, "AI pipeline processing triggered successfully")
	return nil
}

// tenantLabel names a tenant for a message: its name and id.
func (s *Server) tenantLabel(ctx context.Context, id string) string {
	if t, err := s.Store.Tenant(ctx, id); err == nil {
		return strconv.Quote(t.Name) + " (" + id + ")"
	}
	return strconv.Quote(id)
}
