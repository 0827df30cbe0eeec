package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
)

// Loopback is the default of TCPListener.Allow: this machine only.
var Loopback = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
}

// TCPListener accepts TCP connections from allowed networks and runs
// Handle for each on its own goroutine. It is the service under the
// AudioSocket and OpenCHS listeners.
type TCPListener struct {
	// Name labels log lines ("audiosocket", "openchs").
	Name string
	// Addr is the address to listen on, host:port; port 0 picks one.
	Addr string
	// Allow lists the networks connections are accepted from; nil means
	// Loopback. Others are closed at once with a log line.
	Allow []netip.Prefix
	// Handle serves one connection; the connection is closed when it
	// returns. ctx is cancelled when the listener stops.
	Handle func(ctx context.Context, c net.Conn)
	// Logger receives a line per refused or failed connection; nil
	// discards them.
	Logger *slog.Logger

	mu      sync.Mutex
	ln      net.Listener
	cancel  context.CancelFunc
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
	stopped bool
}

// Start binds the address and begins accepting connections; it returns
// once the listener is bound. The listener runs until Stop or until ctx is
// cancelled. Returns EINVALID for a listener without Handle, and the
// bind error if the address cannot be used.
func (l *TCPListener) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.stopped:
		return callscope.Errorf(callscope.ECONFLICT, "%s listener: already stopped", l.Name)
	case l.ln != nil:
		return nil
	case l.Handle == nil:
		return callscope.Errorf(callscope.EINVALID, "%s listener: no connection handler", l.Name)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.Addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", l.Name, err)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.ln, l.cancel, l.conns = ln, cancel, map[net.Conn]struct{}{}
	l.wg.Add(1)
	go l.accept(cctx, ln)
	// Cancelling ctx stops the listener as Stop does.
	stopOnCancel := context.AfterFunc(ctx, l.Stop)
	context.AfterFunc(cctx, func() { stopOnCancel() })
	return nil
}

// ListenAddr returns the bound address, or nil before Start.
func (l *TCPListener) ListenAddr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Stop closes the listener and every open connection, then waits for
// their handlers to return. Stopping twice, or a listener never started,
// is not an error; every Stop waits, also one made while another (e.g. its
// context's) is under way.
func (l *TCPListener) Stop() {
	l.mu.Lock()
	if l.ln == nil {
		l.stopped = true
		l.mu.Unlock()
		return
	}
	if !l.stopped {
		l.stopped = true
		l.cancel()
		_ = l.ln.Close()
		for c := range l.conns {
			_ = c.Close()
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *TCPListener) accept(ctx context.Context, ln net.Listener) {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, then retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.logger().Warn("accept failed", "listener", l.Name, "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-ctx.Done():
				return
			}
		}
		backoff = 0
		if !l.allowed(c.RemoteAddr()) {
			l.logger().Warn("connection refused: address not in the allowed networks",
				"listener", l.Name, "remote", c.RemoteAddr().String())
			_ = c.Close()
			continue
		}
		if !l.track(c) {
			_ = c.Close()
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.untrack(c)
			defer func() {
				// A bug in one connection's handler must not take the
				// other calls down with it.
				if v := recover(); v != nil {
					l.logger().Error("connection handler panicked", "listener", l.Name,
						"remote", c.RemoteAddr().String(), "panic", fmt.Sprint(v))
				}
			}()
			l.Handle(ctx, c)
		}()
	}
}

// track registers c so that Stop closes it; it reports false if the
// listener is stopping.
func (l *TCPListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *TCPListener) untrack(c net.Conn) {
	_ = c.Close()
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

func (l *TCPListener) allowed(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	return Allowed(ip, l.Allow)
}

func (l *TCPListener) logger() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

// Allowed reports whether ip is in one of the networks; nil networks means
// Loopback. IPv4 addresses mapped into IPv6 match IPv4 networks.
func Allowed(ip netip.Addr, networks []netip.Prefix) bool {
	if networks == nil {
		networks = Loopback
	}
	ip = ip.Unmap()
	for _, p := range networks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseNetworks parses a comma-separated list of CIDRs or single addresses
// ("10.0.0.0/8, 192.168.1.7"). Returns EINVALID naming the first bad entry.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, callscope.Errorf(callscope.EINVALID, "network %q is not a CIDR or an IP address", part)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "network %q is not a CIDR or an IP address", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// AddrPort returns the address of a connection's peer, or the zero value
// if it is not an IP address.
func AddrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// LazyTCP holds the TCPListener a protocol's listener builds when it is
// first started, so that Start, Stop and ListenAddr behave the same for
// every protocol: Stop before Start and a second Stop do nothing.
type LazyTCP struct {
	mu  sync.Mutex
	tcp *TCPListener
}

// Start builds the TCPListener with build on the first call and starts it.
func (z *LazyTCP) Start(ctx context.Context, build func() *TCPListener) error {
	z.mu.Lock()
	if z.tcp == nil {
		z.tcp = build()
	}
	t := z.tcp
	z.mu.Unlock()
	return t.Start(ctx)
}

// Stop stops the TCPListener if one was started.
func (z *LazyTCP) Stop() {
	if t := z.get(); t != nil {
		t.Stop()
	}
}

// ListenAddr returns the bound address, or nil before Start.
func (z *LazyTCP) ListenAddr() net.Addr {
	if t := z.get(); t != nil {
		return t.ListenAddr()
	}
	return nil
}

func (z *LazyTCP) get() *TCPListener {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.tcp
}
