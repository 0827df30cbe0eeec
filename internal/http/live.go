package http

import (
	"context"
	"net/http"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/stream"
)

// LiveCalls are the live call streams this process holds.
type LiveCalls interface {
	// Hangup closes the stream of the tenant's call ref names, if this
	// process holds it, and returns once the call was finished (recording
	// attached, call ended for reason). It reports whether it held it.
	Hangup(ctx context.Context, tenantID, ref, reason string) bool
}

// liveWindow is how recent a live call's activity must be for its stream
// to count as held by some replica: a few of the holders' 2 s flushes.
const liveWindow = 10 * time.Second

// hangupLive closes the live stream of the call being ended, so that the
// call ends with its recording in place, and reports whether it did.
func (s *Server) hangupLive(r *http.Request, reason string) bool {
	return s.Live != nil && s.Live.Hangup(r.Context(), tenantID(r), r.PathValue("call_id"), reason)
}

// mountStreams adds the live audio endpoints, which are not API routes:
// Twilio Media Streams at /twilio/stream, authenticated by their own
// signature.
func (s *Server) mountStreams() {
	if s.TwilioStream == nil {
		return
	}
	h := s.TwilioStream
	serve := func(w http.ResponseWriter, r *http.Request) {
		// A stream lasts as long as its call: the server's request
		// deadlines would cut it, and they stay on a hijacked conn.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		h.ServeHTTP(w, r)
	}
	// The default tenant's streams, and each tenant's by its name: the
	// tenant's own Twilio auth token checks the signature.
	s.mux.HandleFunc("GET /twilio/stream", func(w http.ResponseWriter, r *http.Request) {
		serve(w, r.WithContext(stream.WithTenant(r.Context(), callscope.DefaultTenantName)))
	})
	s.mux.HandleFunc("GET /twilio/stream/{tenant}", func(w http.ResponseWriter, r *http.Request) {
		serve(w, r.WithContext(stream.WithTenant(r.Context(), r.PathValue("tenant"))))
	})
}
