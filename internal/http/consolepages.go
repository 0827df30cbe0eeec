package http

import (
	"context"
	"net/http"

	"github.com/callscope/callscope"
)

// ConsoleHandler is the web console (internal/console): HTML pages served
// beside the API under the patterns it lists, outside the route table and
// the OpenAPI document, authenticated by its own cookie sessions.
type ConsoleHandler interface {
	http.Handler
	Patterns() []string
}

// mountConsole adds the console's pages to the mux.
func (s *Server) mountConsole() {
	if s.Console == nil {
		return
	}
	for _, p := range s.Console.Patterns() {
		s.mux.Handle(p, s.Console)
	}
}

// asTenant is r acting for the tenant, as an API key of it would.
func asTenant(r *http.Request, tenantID string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey, &callscope.Principal{TenantID: tenantID}))
}

// ServeCallRecording serves a call's recording as GET /api/calls/{id}/recording
// does, for a tenant the caller has already authenticated (the console's
// players). Returns ENOTFOUND for another tenant's call or a call without
// a recording.
func (s *Server) ServeCallRecording(w http.ResponseWriter, r *http.Request, tenantID, callID string) error {
	r = asTenant(r, tenantID)
	r.SetPathValue("id", callID)
	return s.handleConsoleRecording(w, r)
}

// ServeCallEvents streams a call's live events as GET
// /api/v1/calls/{call_id}/events does, for a tenant the caller has already
// authenticated (the console's live transcript).
func (s *Server) ServeCallEvents(w http.ResponseWriter, r *http.Request, tenantID, callID string) error {
	r = asTenant(r, tenantID)
	r.SetPathValue("call_id", callID)
	return s.handleCallEvents(w, r)
}
