package main

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/live"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/audiosocket"
	"github.com/callscope/callscope/internal/stream/openchs"
	"github.com/callscope/callscope/internal/stream/twilio"
)

// liveStreams are the live call audio services serve runs: the AudioSocket
// and OpenCHS listeners of the default tenant (each when its address is
// set) and the Twilio Media Streams handler of every tenant with a Twilio
// auth token.
type liveStreams struct {
	sessions    *live.Sessions
	audiosocket *audiosocket.Listener
	openchs     *openchs.Listener
	twilio      *twilio.Handler
}

func newLiveStreams(cfg *config.Config, calls *call.Service, recordings blob.Store, log *slog.Logger) *liveStreams {
	l := &liveStreams{sessions: &live.Sessions{Calls: calls, Recordings: recordings,
		SpoolDir: filepath.Join(cfg.DataDir, "live"), Logger: log.With("component", "live"),
		ProgressiveChars: cfg.ProgressiveChars, ProgressiveInterval: cfg.ProgressiveInterval}}
	if cfg.AudioSocketAddr != "" {
		l.audiosocket = &audiosocket.Listener{Addr: cfg.AudioSocketAddr, Allow: cfg.StreamAllowedNetworks,
			Sessions: l.sessions, Logger: log.With("component", "audiosocket")}
	}
	if cfg.OpenCHSAddr != "" {
		l.openchs = &openchs.Listener{Addr: cfg.OpenCHSAddr, Allow: cfg.StreamAllowedNetworks,
			Sessions: l.sessions, Logger: log.With("component", "openchs")}
	}
	l.twilio = &twilio.Handler{Sessions: l.sessions, Tokens: twilioTokens{store: calls.Store, env: cfg.TwilioAuthToken},
		Logger: log.With("component", "twilio_stream")}
	return l
}

// twilioTokens finds the auth token that signs a Twilio stream of the
// tenant its route names (/twilio/stream/{tenant}; /twilio/stream is the
// default tenant's): CALLSCOPE_TWILIO_AUTH_TOKEN for the default tenant
// when it is set, otherwise the tenant's settings.twilio.auth_token. A
// tenant without one has its streams refused.
type twilioTokens struct {
	store *sqlstore.Store
	env   string
}

func (t twilioTokens) AuthTokenFor(r *http.Request) (string, bool) {
	name := stream.TenantFrom(r.Context())
	if name == "" {
		name = callscope.DefaultTenantName
	}
	if name == callscope.DefaultTenantName && t.env != "" {
		return t.env, true
	}
	tn, err := t.store.TenantByName(r.Context(), name)
	if err != nil || tn.Settings.Twilio == nil || tn.Settings.Twilio.AuthToken == "" {
		return "", false
	}
	return tn.Settings.Twilio.AuthToken, true
}

// handler is the Twilio stream handler.
func (l *liveStreams) handler() http.Handler {
	if l.twilio == nil {
		return nil
	}
	return l.twilio
}

// Start binds the configured listeners; they run until Stop, which waits
// for their calls to be finished (not merely until ctx ends: a listener
// stopped by its context does not wait).
func (l *liveStreams) Start(ctx context.Context, log *slog.Logger) error {
	ctx = context.WithoutCancel(ctx)
	// Calls a crash interrupted are finished before new ones arrive.
	if err := l.sessions.Recover(ctx); err != nil {
		log.Error("interrupted live calls not all finished; their recordings stay spooled", "err", err)
	}
	if l.audiosocket != nil {
		if err := l.audiosocket.Start(ctx); err != nil {
			return err
		}
		log.Info("audiosocket listener started", "addr", l.audiosocket.ListenAddr().String())
	}
	if l.openchs != nil {
		if err := l.openchs.Start(ctx); err != nil {
			l.Stop()
			return err
		}
		log.Info("openchs listener started", "addr", l.openchs.ListenAddr().String())
	}
	return nil
}

// Stop closes every live stream and waits until each call is finished:
// its recording attached, the call ended and its processing queued.
func (l *liveStreams) Stop() {
	if l.audiosocket != nil {
		l.audiosocket.Stop()
	}
	if l.openchs != nil {
		l.openchs.Stop()
	}
	if l.twilio != nil {
		l.twilio.Stop()
	}
}
