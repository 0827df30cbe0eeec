package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/twilio/twilio-go/client"

	"github.com/callscope/callscope/internal/stream"
)

// DefaultIdleTimeout ends a stream that sent nothing for this long;
// Twilio sends media every 20 ms for the whole call.
const DefaultIdleTimeout = 10 * time.Second

// maxMessage bounds one WebSocket message; a media message is about
// 400 bytes, a start with its custom parameters a few kilobytes.
const maxMessage = 128 << 10

// AuthTokens finds the Twilio auth token that signs a stream's WebSocket
// handshake, for the tenant the request is for.
type AuthTokens interface {
	// AuthTokenFor returns the auth token for r; ok false refuses r.
	AuthTokenFor(r *http.Request) (token string, ok bool)
}

// Handler is the http.Handler Twilio opens Media Streams on (mounted at
// /twilio/stream). It checks the handshake's X-Twilio-Signature, then
// turns the stream into one call in Sessions: the CallSid is the external
// id, the audio is 16-bit PCM at 8 kHz, one Session track per Twilio
// track in start.tracks order, customParameters as Start.Params.
//
// A call ends on stop (stream.EndHangup), on the socket closing, after
// IdleTimeout without a message, or on a malformed message, which closes
// that stream only, with a log line.
//
// The context given to Sessions.Open keeps the request's values, so a
// tenant found by middleware (or by AuthTokens) reaches the session side.
type Handler struct {
	// Sessions receives the calls.
	Sessions stream.Sessions
	// Tokens checks signatures; nil accepts unsigned handshakes, for
	// development only.
	Tokens AuthTokens
	// URL returns the URL Twilio signed, as configured in the TwiML
	// (wss://host/path). Nil derives it from the request: wss if it came
	// over TLS or X-Forwarded-Proto says https or wss, ws otherwise, then
	// the Host header and the request URI.
	URL func(r *http.Request) string
	// Logger receives a line per refused handshake and per call end; nil
	// discards them.
	Logger *slog.Logger
	// IdleTimeout, if not zero, replaces DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Now, if set, replaces time.Now.
	Now func() time.Time

	mu      sync.Mutex
	cancels map[*context.CancelFunc]struct{}
	wg      sync.WaitGroup
	stopped bool
}

var _ http.Handler = (*Handler)(nil)

// ServeHTTP answers 403 to a handshake without a valid signature, then
// serves the stream until it ends.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.logger().With("protocol", "twilio", "remote", r.RemoteAddr)
	if h.Tokens != nil {
		if why := h.verify(r); why != "" {
			log.Warn("twilio stream refused", "why", why)
			writeDetail(w, http.StatusForbidden, why)
			return
		}
	}
	ctx, done, ok := h.track(r.Context())
	if !ok {
		writeDetail(w, http.StatusServiceUnavailable, "the stream service is shutting down")
		return
	}
	defer done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		log.Warn("twilio stream handshake failed", "err", err)
		return
	}
	c.SetReadLimit(maxMessage)
	st := &streamState{h: h, c: c, log: log, started: h.now()}
	st.remote, _ = netip.ParseAddrPort(r.RemoteAddr)
	st.remote = netip.AddrPortFrom(st.remote.Addr().Unmap(), st.remote.Port())
	why := st.run(ctx)
	// The socket closes first: finishing the call (the recording stored,
	// the last words transcribed and analysed) is no business of Twilio's.
	switch why {
	case stream.EndHangup, stream.EndSession:
		_ = c.Close(websocket.StatusNormalClosure, "")
	case stream.EndProtocol:
		_ = c.Close(websocket.StatusPolicyViolation, "protocol error")
	default:
		_ = c.CloseNow()
	}
	if st.sess != nil {
		st.sess.Close(why)
	}
	st.log.Info("twilio call ended", "reason", string(why), "media", st.frames,
		"duration", h.now().Sub(st.started).Round(time.Millisecond).String())
}

// writeDetail answers with an error in the API's shape, {"detail": msg}.
func writeDetail(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"detail": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// verify returns why r's signature is refused, or "" if it is valid.
func (h *Handler) verify(r *http.Request) string {
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		return "missing X-Twilio-Signature"
	}
	token, ok := h.Tokens.AuthTokenFor(r)
	if !ok || token == "" {
		return "no Twilio auth token for this request"
	}
	url := h.requestURL(r)
	v := client.NewRequestValidator(token)
	// Twilio signs the URL as written in the TwiML; a trailing slash is
	// sometimes added or dropped on the way, so both forms are tried.
	for _, u := range []string{url, toggleSlash(url)} {
		if u != "" && v.Validate(u, map[string]string{}, sig) {
			return ""
		}
	}
	return "invalid X-Twilio-Signature"
}

func (h *Handler) requestURL(r *http.Request) string {
	if h.URL != nil {
		return h.URL(r)
	}
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); p != "" {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "https", "wss":
			scheme = "wss"
		case "http", "ws":
			scheme = "ws"
		}
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// toggleSlash adds or removes the trailing slash of a URL without a query.
func toggleSlash(u string) string {
	if strings.Contains(u, "?") {
		return ""
	}
	if s, ok := strings.CutSuffix(u, "/"); ok {
		return s
	}
	return u + "/"
}

// track registers a stream so that Stop can end it; ok is false once Stop
// was called.
func (h *Handler) track(parent context.Context) (ctx context.Context, done func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	if h.cancels == nil {
		h.cancels = map[*context.CancelFunc]struct{}{}
	}
	h.cancels[&cancel] = struct{}{}
	h.wg.Add(1)
	return ctx, func() {
		h.mu.Lock()
		delete(h.cancels, &cancel)
		h.mu.Unlock()
		cancel()
		h.wg.Done()
	}, true
}

// Stop ends every open stream (each call ends with stream.EndShutdown),
// refuses new ones with 503 and waits for the streams to finish. An
// http.Server's Shutdown does not do this: it does not track WebSocket
// connections. Stopping twice is allowed.
func (h *Handler) Stop() {
	h.mu.Lock()
	h.stopped = true
	for c := range h.cancels {
		(*c)()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// streamState is the state of one stream.
type streamState struct {
	h       *Handler
	c       *websocket.Conn
	log     *slog.Logger
	remote  netip.AddrPort
	started time.Time
	sess    stream.Session
	tracks  []string
	chunks  []uint64 // last chunk number per track
	last    []int64  // end of the last media per track, in samples
	frames  int
	pcm     []int16
	scratch []byte
}

// run reads messages until the stream ends and returns why.
func (st *streamState) run(ctx context.Context) stream.EndReason {
	idle := st.h.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, idle)
		typ, data, err := st.c.Read(rctx)
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return stream.EndShutdown
			case timedOut:
				st.log.Warn("twilio stream closed: no message", "timeout", idle.String())
				return stream.EndTimeout
			case websocket.CloseStatus(err) == -1 && !errors.Is(err, context.Canceled):
				st.log.Warn("twilio stream lost", "err", err)
			}
			return stream.EndClosed
		}
		if typ != websocket.MessageText {
			st.log.Warn("twilio stream closed: binary message")
			return stream.EndProtocol
		}
		m, err := Decode(data)
		if errors.Is(err, ErrUnknownEvent) {
			st.log.Debug("twilio message ignored", "event", m.Event)
			continue
		}
		if err != nil {
			st.log.Warn("twilio stream closed: malformed message", "err", err)
			return stream.EndProtocol
		}
		if why := st.handle(ctx, &m); why != "" {
			return why
		}
	}
}

// handle acts on one valid message; it returns a reason to end the stream,
// or "".
func (st *streamState) handle(ctx context.Context, m *Message) stream.EndReason {
	if st.sess == nil && m.Event != EventConnected && m.Event != EventStart {
		st.log.Warn("twilio stream closed: message before start", "event", m.Event)
		return stream.EndProtocol
	}
	switch m.Event {
	case EventStart:
		if st.sess != nil {
			st.log.Warn("twilio stream closed: second start")
			return stream.EndProtocol
		}
		s := m.Start
		st.log = st.log.With("call", s.CallSid, "stream", s.StreamSid)
		st.tracks = slices.Clone(s.Tracks)
		st.chunks = make([]uint64, len(s.Tracks))
		st.last = make([]int64, len(s.Tracks))
		sess, err := st.h.Sessions.Open(ctx, stream.Start{
			Protocol:   stream.ProtocolTwilio,
			ExternalID: s.CallSid,
			StreamID:   s.StreamSid,
			AccountID:  s.AccountSid,
			ClientAddr: st.remote,
			SampleRate: SampleRate,
			Tracks:     st.tracks,
			Params:     s.CustomParameters,
			StartedAt:  st.started,
		})
		if err != nil {
			st.log.Warn("twilio call refused", "err", err)
			return stream.EndSession
		}
		st.sess = sess
	case EventMedia:
		track := slices.Index(st.tracks, m.Media.Track)
		if track < 0 {
			st.log.Warn("twilio stream closed: media of a track not started", "track", m.Media.Track)
			return stream.EndProtocol
		}
		var err error
		st.pcm, st.scratch, err = m.Media.Decode(st.pcm[:0], st.scratch)
		if err != nil {
			st.log.Warn("twilio stream closed: malformed media", "err", err)
			return stream.EndProtocol
		}
		ms, _ := m.Media.Millis()
		chunk, _ := parseUint(m.Media.Chunk)
		if prev := st.chunks[track]; chunk > prev+1 {
			st.log.Warn("twilio media chunks missing", "track", m.Media.Track, "after", prev, "next", chunk)
		}
		st.chunks[track] = chunk
		at := time.Duration(ms) * time.Millisecond
		st.last[track] = ms*SampleRate/1000 + int64(len(st.pcm))
		st.frames++
		if err := st.sess.Audio(track, st.pcm, at); err != nil {
			st.log.Info("twilio call ended by its session", "err", err)
			return stream.EndSession
		}
	case EventDTMF:
		// A key is heard at the end of the audio received so far.
		var at int64
		for _, n := range st.last {
			at = max(at, n)
		}
		if err := st.sess.DTMF(m.DTMF.Digit, time.Duration(at)*time.Second/SampleRate); err != nil {
			st.log.Info("twilio call ended by its session", "err", err)
			return stream.EndSession
		}
	case EventStop:
		return stream.EndHangup
	}
	return ""
}

func parseUint(s string) (uint64, bool) {
	var n uint64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, s != ""
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
