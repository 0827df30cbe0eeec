package http

import "net/http"

// Webhook endpoints and their delivery log. Being written.

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) error { return notYet(w, r) }
func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleReplayDelivery(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
