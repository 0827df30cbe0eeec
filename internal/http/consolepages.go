package http

import (
	"bytes"
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

// consoleRecorder keeps an in-process API answer for the console.
type consoleRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *consoleRecorder) Header() http.Header { return c.header }
func (c *consoleRecorder) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
func (c *consoleRecorder) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

// ConsoleAPI runs one route of the API in-process for a tenant the console
// has authenticated, as a key of that tenant with admin rights would, and
// returns the answer's status and JSON body. The console's configuration
// pages go through the API's own handlers this way, so that they validate
// and store exactly as the API does. The console builds every target from
// the signed-in user's own tenant; the route's query and text checks and
// its body limit apply as they do over HTTP.
func (s *Server) ConsoleAPI(ctx context.Context, tenantID, method, target string, body []byte) (int, []byte) {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			limit := s.MaxBodyBytes
			if rt.MaxBody > 0 {
				limit = rt.MaxBody
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			r = r.WithContext(context.WithValue(r.Context(), limitKey, limit))
			r = r.WithContext(context.WithValue(r.Context(), principalKey, &callscope.Principal{TenantID: tenantID, Admin: true}))
			s.serveRoute(w, r, rt)
		}))
	}
	r, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadRequest, []byte(`{"detail":"bad request"}`)
	}
	r.RemoteAddr = "127.0.0.1:0"
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	rec := &consoleRecorder{header: http.Header{}}
	mux.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.body.Bytes()
}

// ConsoleAutocallerPrefix is where the Auto-Caller routes are mounted.
func (s *Server) ConsoleAutocallerPrefix() string { return s.autocallerPrefix() }
