package http

import "net/http"

// The agent notification service endpoints (seed 001 §3.13–3.15). Being written.

func (s *Server) handleAgentHealth(w http.ResponseWriter, r *http.Request) error { return notYet(w, r) }
func (s *Server) handleAgentTestAuth(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleAgentTestNotification(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
