// Package http serves callscope's HTTP surfaces: the Call Sessions API and
// the other JSON APIs, operations endpoints and documentation. Routes are
// registered in one table (routes.go); errors become status codes in one
// place (error.go).
package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/analyze"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/campaign"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/feed"
	"github.com/callscope/callscope/internal/pipeline"
)

// Server is callscope's HTTP server. Set the fields, then call Open.
type Server struct {
	// Store is what the surfaces read, and the records that cause no jobs.
	Store Store
	// Calls makes every change to a call.
	Calls *call.Service
	// Learner blends each tenant's classifier learned from corrections
	// into dry-run classifications; nil uses the keywords alone.
	Learner *pipeline.Learner
	// Analysis starts analyzer re-runs and backfills.
	Analysis *analyze.Service
	// Jobs counts the queue's jobs for the health and processing views.
	Jobs Jobs
	// Webhooks replays webhook deliveries.
	Webhooks WebhookReplayer
	// Agents returns the agent notification service the agent-service
	// endpoints check; each call gives a fresh one, so that every check
	// obtains a fresh token.
	Agents func() *deliver.Agent
	Logger *slog.Logger

	// Registry receives the server's metrics; /metrics serves it.
	Registry *prometheus.Registry

	TrustedNetworks []netip.Prefix
	RateLimitGet    int // per minute per client; 0 = unlimited
	RateLimitPost   int
	MaxBodyBytes    int64
	// MaxUploadBytes bounds a recording upload.
	MaxUploadBytes int64

	// MaxConcurrentProcessing is reported by the processing overview.
	MaxConcurrentProcessing int

	// Recordings stores recording files.
	Recordings blob.Store
	// Egress is the policy for requests to URLs users give (recording URLs).
	Egress egress.Policy

	// Health reports extra component checks for /health/detailed
	// and the configured model providers for /health/models.
	Components func(ctx context.Context) map[string]Check
	Models     func(ctx context.Context) []ModelStatus

	// Version is reported by /health.
	Version string

	// Now is the clock.
	Now func() time.Time

	// Outbound places outbound calls for the Auto-Caller API
	// (autocaller.go); nil answers 503 there.
	Outbound Outbound
	// Callbacks rotates the tenants' callback credentials.
	Callbacks CallbackService
	// AutocallerPrefix is where the Auto-Caller API is served (default
	// DefaultAutocallerPrefix).
	AutocallerPrefix string

	// Campaigns runs outbound campaigns (campaigns.go); nil makes one that
	// dispatches campaigns only when they change, without redialling.
	Campaigns *campaign.Service

	// Live closes live call streams when their call is ended (live.go).
	Live LiveCalls
	// Feed, if set, serves the live event streams (events.go).
	Feed *feed.Hub
	// TwilioStream, if set, serves Twilio Media Streams at /twilio/stream.
	TwilioStream http.Handler
	// Twilio, if set, takes Twilio's voice, status and recording callbacks
	// (twilio.go).
	Twilio *TwilioHooks

	// Console, if set, serves the web console's pages (consolepages.go).
	Console ConsoleHandler

	handler http.Handler
	mux     *http.ServeMux
	limiter *limiter
	metrics *metrics
	renders *renderCache

	defaultTenantMu sync.Mutex
	defaultTenant   string

	srv      *http.Server
	ln       net.Listener
	draining atomic.Bool
}

// Drain puts the server in lame-duck mode before Close: /health answers
// 503 so load balancers stop sending, and every response asks the client to
// close its connection, so that no keep-alive connection is idle (and at
// risk of a reset) when the server finally closes.
func (s *Server) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// Init prepares the handler. Open calls it; tests that serve through
// httptest call it directly.
func (s *Server) Init() error {
	if s.handler != nil {
		return nil
	}
	if s.Store == nil || s.Calls == nil {
		return errors.New("http: server has no store or call service")
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = 1 << 20
	}
	if s.MaxUploadBytes <= 0 {
		s.MaxUploadBytes = 1 << 30
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	m, err := newMetrics(s.Registry)
	if err != nil {
		return err
	}
	s.metrics = m
	s.limiter = newLimiter(s.RateLimitGet, s.RateLimitPost, s.Now)
	s.renders = newRenderCache(64 << 20)
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	s.mountStreams()
	s.mountConsole()
	s.mountTwilio()
	s.handler = s.outer(s.mux)
	return nil
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler {
	if err := s.Init(); err != nil {
		panic(err)
	}
	return s.handler
}

// Open listens on addr and serves in the background. Use Addr to learn the
// port when addr ends in ":0".
func (s *Server) Open(addr string) error {
	if err := s.Init(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops accepting connections and waits for requests in flight until
// ctx is done, then closes what remains. Closing twice is not an error.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

// DefaultTenantID returns the id of the tenant named "default", which
// trusted-network requests act as, or "" if there is none.
func (s *Server) DefaultTenantID(ctx context.Context) string {
	s.defaultTenantMu.Lock()
	defer s.defaultTenantMu.Unlock()
	if s.defaultTenant == "" {
		if t, err := s.Store.TenantByName(ctx, callscope.DefaultTenantName); err == nil {
			s.defaultTenant = t.ID
		}
	}
	return s.defaultTenant
}
