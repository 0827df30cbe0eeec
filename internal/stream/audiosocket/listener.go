package audiosocket

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/callscope/callscope/internal/stream"
)

// Defaults of the Listener's timeouts.
const (
	// DefaultIdleTimeout is how long a call may go without audio from
	// Asterisk; Asterisk gives up after the same 2 s without activity.
	DefaultIdleTimeout = 2 * time.Second
	// DefaultHandshakeTimeout bounds the wait for the UUID frame. With the
	// channel driver Asterisk connects when the channel is requested and
	// sends the UUID only when it places the call.
	DefaultHandshakeTimeout = 10 * time.Second
)

// maxEarlyDigits bounds the DTMF keys kept while waiting for the first
// audio frame, which tells the sample rate the session opens with.
const maxEarlyDigits = 32

// writeTimeout bounds the hangup frame sent to a peer that may not read.
const writeTimeout = time.Second

// Listener is the AudioSocket service Asterisk connects to. Each
// connection becomes one call in Sessions, opened when the first audio
// frame shows the sample rate (or when the call ends before any audio),
// with the UUID as external id and one track, stream.TrackChannel.
//
// A call ends on a hangup frame, an error frame, the socket closing, or
// IdleTimeout without audio. A malformed frame closes that connection
// only, with a log line.
type Listener struct {
	// Addr is the address to listen on, host:port.
	Addr string
	// Allow lists the networks Asterisk may connect from; nil means
	// loopback only.
	Allow []netip.Prefix
	// Sessions receives the calls.
	Sessions stream.Sessions
	// Logger receives a line per refused connection and per call end; nil
	// discards them.
	Logger *slog.Logger
	// IdleTimeout, if not zero, replaces DefaultIdleTimeout.
	IdleTimeout time.Duration
	// HandshakeTimeout, if not zero, replaces DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Now, if set, replaces time.Now.
	Now func() time.Time

	tcp stream.LazyTCP
}

// Start binds Addr and serves connections until Stop or until ctx is
// cancelled. Returns the bind error if the address cannot be used.
func (l *Listener) Start(ctx context.Context) error {
	return l.tcp.Start(ctx, func() *stream.TCPListener {
		return &stream.TCPListener{Name: "audiosocket", Addr: l.Addr, Allow: l.Allow, Handle: l.serve, Logger: l.logger()}
	})
}

// Stop closes the listener and every call's connection (each call ends
// with stream.EndShutdown) and waits for them. Stopping twice is allowed.
func (l *Listener) Stop() { l.tcp.Stop() }

// ListenAddr returns the bound address, or nil before Start.
func (l *Listener) ListenAddr() net.Addr { return l.tcp.ListenAddr() }

// serve runs one connection from the UUID frame to the end of the call.
func (l *Listener) serve(ctx context.Context, c net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cl := &call{
		l:      l,
		c:      c,
		r:      NewReader(bufio.NewReaderSize(c, 1024)),
		w:      NewWriter(c),
		log:    l.logger().With("protocol", "audiosocket", "remote", c.RemoteAddr().String()),
		remote: stream.AddrPort(c.RemoteAddr()),
		start:  l.now(),
	}
	_ = c.SetReadDeadline(time.Now().Add(orDefault(l.HandshakeTimeout, DefaultHandshakeTimeout)))
	f, err := cl.r.Next()
	if err != nil {
		cl.log.Warn("audiosocket connection closed before its uuid frame", "reason", reason(ctx, err), "err", err)
		return
	}
	if f.Kind != KindUUID {
		cl.log.Warn("audiosocket connection closed: first frame is not a uuid", "kind", f.Kind.String())
		cl.hangup()
		return
	}
	cl.id = uuid.UUID(f.Payload).String()
	cl.log = cl.log.With("call", cl.id)
	why := cl.run(ctx)
	if cl.sess == nil && why != stream.EndSession {
		// The call ended before any audio: it still happened.
		if w := cl.open(ctx, defaultAudio); w != "" {
			if cl.sess == nil {
				return
			}
			why = w
		}
	}
	if cl.sess != nil {
		cl.sess.Close(why)
	}
	switch why {
	case stream.EndHangup, stream.EndClosed, stream.EndPeerError:
	default:
		// Ask Asterisk to hang up rather than leave it waiting: a hangup
		// frame is one of the two kinds it accepts from us.
		cl.hangup()
	}
	cl.log.Info("audiosocket call ended", "reason", string(why), "frames", cl.frames,
		"audio", cl.position().String(), "duration", l.now().Sub(cl.start).Round(time.Millisecond).String())
}

// call is the state of one connection.
type call struct {
	l       *Listener
	c       net.Conn
	r       *Reader
	w       *Writer
	log     *slog.Logger
	remote  netip.AddrPort
	start   time.Time
	id      string
	sess    stream.Session
	kind    Kind
	samples int64
	frames  int
	pcm     []int16
	early   []string
}

// run reads frames until the call ends and returns why.
func (cl *call) run(ctx context.Context) stream.EndReason {
	idle := orDefault(cl.l.IdleTimeout, DefaultIdleTimeout)
	// Only audio keeps a call alive: a peer sending DTMF alone has lost
	// the call's media.
	_ = cl.c.SetReadDeadline(time.Now().Add(idle))
	for {
		f, err := cl.r.Next()
		if err != nil {
			why := reason(ctx, err)
			switch why {
			case stream.EndProtocol:
				cl.log.Warn("audiosocket connection closed: malformed frame", "err", err)
			case stream.EndTimeout:
				cl.log.Warn("audiosocket connection closed: no audio from asterisk", "timeout", idle.String())
			case stream.EndClosed:
				if !errors.Is(err, io.EOF) {
					cl.log.Warn("audiosocket connection lost", "err", err)
				}
			}
			return why
		}
		switch {
		case f.Kind.IsAudio():
			if cl.sess == nil {
				if why := cl.open(ctx, f.Kind); why != "" {
					return why
				}
			} else if f.Kind != cl.kind {
				cl.log.Warn("audiosocket connection closed: audio format changed", "from", cl.kind.String(), "to", f.Kind.String())
				return stream.EndProtocol
			}
			cl.pcm = DecodeSamples(cl.pcm[:0], f.Payload)
			if err := cl.sess.Audio(0, cl.pcm, cl.position()); err != nil {
				cl.log.Info("audiosocket call ended by its session", "err", err)
				return stream.EndSession
			}
			cl.samples += int64(len(cl.pcm))
			cl.frames++
			// The peer's silence is timed from here: the time this
			// side took (opening the call, storing the audio) is not
			// the peer's.
			_ = cl.c.SetReadDeadline(time.Now().Add(idle))
		case f.Kind == KindDTMF:
			d := string(f.Payload)
			if cl.sess == nil {
				if len(cl.early) == maxEarlyDigits {
					cl.log.Warn("audiosocket connection closed: too many dtmf keys before audio")
					return stream.EndProtocol
				}
				cl.early = append(cl.early, d)
				continue
			}
			if err := cl.sess.DTMF(d, cl.position()); err != nil {
				cl.log.Info("audiosocket call ended by its session", "err", err)
				return stream.EndSession
			}
		case f.Kind == KindHangup:
			return stream.EndHangup
		case f.Kind == KindError:
			code := -1
			if len(f.Payload) == 1 {
				code = int(f.Payload[0])
			}
			cl.log.Warn("asterisk reported an audiosocket error", "code", code)
			return stream.EndPeerError
		default: // a second UUID
			cl.log.Warn("audiosocket connection closed: unexpected frame", "kind", f.Kind.String())
			return stream.EndProtocol
		}
	}
}

// open opens the session with the rate of audio kind k and hands it the
// keys pressed before. It returns stream.EndSession, with cl.sess nil, if
// Sessions refused the call, and with cl.sess set if the session ended the
// call on one of those keys; "" otherwise.
func (cl *call) open(ctx context.Context, k Kind) stream.EndReason {
	s, err := cl.l.Sessions.Open(ctx, stream.Start{
		Protocol:   stream.ProtocolAudioSocket,
		ExternalID: cl.id,
		ClientAddr: cl.remote,
		SampleRate: k.SampleRate(),
		Tracks:     []string{stream.TrackChannel},
		StartedAt:  cl.start,
	})
	if err != nil {
		cl.log.Warn("audiosocket call refused", "err", err)
		return stream.EndSession
	}
	cl.sess, cl.kind = s, k
	_ = cl.w.SetKind(k)
	for _, d := range cl.early {
		if err := s.DTMF(d, 0); err != nil {
			cl.log.Info("audiosocket call ended by its session", "err", err)
			return stream.EndSession
		}
	}
	cl.early = nil
	return ""
}

// position is the stream time of the next sample.
func (cl *call) position() time.Duration {
	rate := cl.kind.SampleRate()
	if rate == 0 {
		return 0
	}
	return time.Duration(cl.samples) * time.Second / time.Duration(rate)
}

func (cl *call) hangup() {
	_ = cl.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	_ = cl.w.Hangup()
}

// reason maps a read error to why the call ended.
func reason(ctx context.Context, err error) stream.EndReason {
	switch {
	case ctx.Err() != nil:
		return stream.EndShutdown
	case errors.Is(err, ErrProtocol):
		return stream.EndProtocol
	case errors.Is(err, os.ErrDeadlineExceeded):
		return stream.EndTimeout
	}
	return stream.EndClosed
}

func (l *Listener) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Listener) logger() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
