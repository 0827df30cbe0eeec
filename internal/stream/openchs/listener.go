package openchs

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

	"github.com/callscope/callscope/internal/stream"
)

// Defaults of the Listener's timeouts.
const (
	// DefaultIdleTimeout ends a call whose PBX sent nothing for this long.
	// The PBX streams silence too, so a quiet socket is a dead one.
	DefaultIdleTimeout = 10 * time.Second
	// DefaultHandshakeTimeout bounds the wait for the call id.
	DefaultHandshakeTimeout = 10 * time.Second
)

// readSize is the most read from the socket at a time: 40 ms of audio.
const readSize = 1280

// Listener is the OpenCHS stream service the PBX connects to. Each
// connection becomes one call in Sessions, with the call id as external
// id, 16 kHz and one track, stream.TrackMixed. The call ends when the PBX
// closes the socket (stream.EndClosed), after IdleTimeout without a byte,
// or at once on a bad call id, with a log line.
type Listener struct {
	// Addr is the address to listen on, host:port.
	Addr string
	// Allow lists the networks the PBX may connect from; nil means
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
		return &stream.TCPListener{Name: "openchs", Addr: l.Addr, Allow: l.Allow, Handle: l.serve, Logger: l.logger()}
	})
}

// Stop closes the listener and every call's connection (each call ends
// with stream.EndShutdown) and waits for them. Stopping twice is allowed.
func (l *Listener) Stop() { l.tcp.Stop() }

// ListenAddr returns the bound address, or nil before Start.
func (l *Listener) ListenAddr() net.Addr { return l.tcp.ListenAddr() }

func (l *Listener) serve(ctx context.Context, c net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := l.logger().With("protocol", "openchs", "remote", c.RemoteAddr().String())
	started := l.now()
	br := bufio.NewReaderSize(c, readSize)
	_ = c.SetReadDeadline(time.Now().Add(orDefault(l.HandshakeTimeout, DefaultHandshakeTimeout)))
	id, err := ReadID(br)
	if err != nil {
		log.Warn("openchs connection closed before a call id", "reason", string(reason(ctx, err)), "err", err)
		return
	}
	log = log.With("call", id)
	sess, err := l.Sessions.Open(ctx, stream.Start{
		Protocol:   stream.ProtocolOpenCHS,
		ExternalID: id,
		ClientAddr: stream.AddrPort(c.RemoteAddr()),
		SampleRate: SampleRate,
		Tracks:     []string{stream.TrackMixed},
		StartedAt:  started,
	})
	if err != nil {
		log.Warn("openchs call refused", "err", err)
		return
	}
	var (
		dec     Decoder
		buf     = make([]byte, readSize)
		pcm     = make([]int16, 0, readSize/2+1)
		samples int64
		why     stream.EndReason
		idle    = orDefault(l.IdleTimeout, DefaultIdleTimeout)
	)
	for why == "" {
		_ = c.SetReadDeadline(time.Now().Add(idle))
		n, err := br.Read(buf)
		if n > 0 {
			pcm = dec.Append(pcm[:0], buf[:n])
			if len(pcm) > 0 {
				at := time.Duration(samples) * time.Second / SampleRate
				if err := sess.Audio(0, pcm, at); err != nil {
					log.Info("openchs call ended by its session", "err", err)
					why = stream.EndSession
					break
				}
				samples += int64(len(pcm))
			}
		}
		if err != nil {
			why = reason(ctx, err)
			switch why {
			case stream.EndTimeout:
				log.Warn("openchs connection closed: no audio from the pbx", "timeout", idle.String())
			case stream.EndClosed:
				if !errors.Is(err, io.EOF) {
					log.Warn("openchs connection lost", "err", err)
				}
			}
		}
	}
	sess.Close(why)
	if dec.Pending() {
		log.Warn("openchs stream ended inside a sample; its last byte was dropped")
	}
	log.Info("openchs call ended", "reason", string(why),
		"audio", (time.Duration(samples) * time.Second / SampleRate).String(),
		"duration", l.now().Sub(started).Round(time.Millisecond).String())
}

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
