package main

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/live"
	"github.com/callscope/callscope/internal/stream/audiosocket"
	"github.com/callscope/callscope/internal/stream/openchs"
	"github.com/callscope/callscope/internal/stream/twilio"
)

// liveStreams are the live call audio services serve runs for the default
// tenant: the AudioSocket and OpenCHS listeners (each when its address is
// set) and the Twilio Media Streams handler (when an auth token is set).
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
	if cfg.TwilioAuthToken != "" {
		l.twilio = &twilio.Handler{Sessions: l.sessions, Tokens: twilioToken(cfg.TwilioAuthToken),
			Logger: log.With("component", "twilio_stream")}
	}
	return l
}

// twilioToken is the one Twilio auth token of the default tenant.
type twilioToken string

func (t twilioToken) AuthTokenFor(*http.Request) (string, bool) { return string(t), true }

// handler is the Twilio stream handler, or nil when it is off.
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
