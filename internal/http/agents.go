package http

import (
	"net/http"
	"strings"

	"github.com/callscope/callscope/internal/deliver"
)

// The agent notification service endpoints (seed 001 §3.13–3.15). They
// check the calling tenant's settings.agent_service with fresh tokens (the
// delivery workers cache theirs), through the server's egress policy and
// trusting the same certificate authorities as the workers.

func (s *Server) agentService() *deliver.Agent {
	return s.Agents()
}

// handleAgentHealth reports whether the agent service answers and a token
// can be obtained.
func (s *Server) handleAgentHealth(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Store.Tenant(r.Context(), tenantID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.agentService().Health(r.Context(), t))
	return nil
}

// handleAgentTestAuth obtains a token from the agent service's token
// endpoint.
func (s *Server) handleAgentTestAuth(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Store.Tenant(r.Context(), tenantID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.agentService().TestAuth(r.Context(), t))
	return nil
}

// handleAgentTestNotification sends one notification for ?call_id= now.
func (s *Server) handleAgentTestNotification(w http.ResponseWriter, r *http.Request) error {
	callID := strings.TrimSpace(r.URL.Query().Get("call_id"))
	if callID == "" {
		var f fields
		f.add("Field required", "missing", "query", "call_id")
		return f.err()
	}
	t, err := s.Store.Tenant(r.Context(), tenantID(r))
	if err != nil {
		return err
	}
	res, err := s.agentService().TestNotification(r.Context(), t, callID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
