package stream_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/streamtest"
)

func TestParseNetworks(t *testing.T) {
	t.Parallel()
	got, err := stream.ParseNetworks(" 10.0.0.0/8, 192.168.1.7 ,::1,10.1.2.3/16,")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.1.0.0/16"),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ParseNetworks = %v, want %v", got, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.org", "10.0.0"} {
		if _, err := stream.ParseNetworks(bad); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("ParseNetworks(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ip   string
		nets []netip.Prefix
		want bool
	}{
		{"127.0.0.1", nil, true},
		{"127.8.9.10", nil, true},
		{"::1", nil, true},
		{"::ffff:127.0.0.1", nil, true}, // IPv4 on a dual-stack socket
		{"10.1.2.3", nil, false},
		{"10.1.2.3", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, true},
		{"::ffff:10.1.2.3", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, true},
		{"127.0.0.1", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false},
		{"127.0.0.1", []netip.Prefix{}, false}, // an empty list allows nobody
	} {
		if got := stream.Allowed(netip.MustParseAddr(tc.ip), tc.nets); got != tc.want {
			t.Errorf("Allowed(%s, %v) = %v, want %v", tc.ip, tc.nets, got, tc.want)
		}
	}
}

func TestTCPListenerLifecycle(t *testing.T) {
	t.Parallel()
	var served atomic.Int64
	l := &stream.TCPListener{Name: "test", Addr: "127.0.0.1:0",
		Handle: func(ctx context.Context, c net.Conn) {
			served.Add(1)
			<-ctx.Done() // held open until the listener stops
		}}
	if l.ListenAddr() != nil {
		t.Fatal("an address before Start")
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	c, err := net.Dial("tcp", l.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for served.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() {
		l.Stop()
		l.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not end an open connection's handler")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection stayed open after Stop")
	}
	if err := l.Start(t.Context()); callscope.ErrorCode(err) != callscope.ECONFLICT {
		t.Fatalf("Start after Stop = %v, want ECONFLICT", err)
	}
}

func TestTCPListenerRecoversHandlerPanic(t *testing.T) {
	t.Parallel()
	logger, log := streamtest.NewLogger()
	var n atomic.Int64
	l := &stream.TCPListener{Name: "test", Addr: "127.0.0.1:0", Logger: logger,
		Handle: func(context.Context, net.Conn) {
			if n.Add(1) == 1 {
				panic("boom")
			}
		}}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	for range 2 {
		c, err := net.Dial("tcp", l.ListenAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("connection not closed")
		}
		c.Close()
	}
	if n.Load() != 2 || !log.Contains("panicked") {
		t.Fatalf("handled %d connections; log:\n%s", n.Load(), log)
	}
}

func TestStartFailsOnBusyAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := &stream.TCPListener{Name: "test", Addr: ln.Addr().String(), Handle: func(context.Context, net.Conn) {}}
	if err := l.Start(t.Context()); err == nil {
		l.Stop()
		t.Fatal("Start on an address in use succeeded")
	}
	l.Stop()
}

func TestChunks(t *testing.T) {
	t.Parallel()
	x := make([]int16, 1000)
	for _, tc := range []struct{ rate, n, last int }{
		{8000, 7, 40}, {16000, 4, 40}, {44100, 2, 118},
	} {
		c := stream.Chunks(x, tc.rate)
		if len(c) != tc.n || len(c[len(c)-1]) != tc.last || len(c[0]) != min(1000, tc.rate/50) {
			t.Errorf("rate %d: %d chunks, last %d", tc.rate, len(c), len(c[len(c)-1]))
		}
	}
	if c := stream.Chunks(nil, 8000); len(c) != 0 {
		t.Errorf("Chunks(nil) = %v", c)
	}
}

func TestPacerKeepsAbsoluteSchedule(t *testing.T) {
	t.Parallel()
	p := stream.Pacer{Speed: 4} // 5 ms per frame
	start := time.Now()
	for range 21 {
		if err := p.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// 20 intervals of 5 ms after the first frame; sleeping may overshoot,
	// never undershoot.
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("21 frames at 4× real time took %v, want at least 100 ms", d)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := (&stream.Pacer{Speed: 1}).Wait(ctx); err == nil {
		t.Fatal("Wait on a cancelled context succeeded")
	}
}

// TestStopWaitsWhileContextStops cancels the listener's context (which
// stops it) and calls Stop at once, as a server does on SIGTERM: Stop
// returns only after the connection's handler finished.
func TestStopWaitsWhileContextStops(t *testing.T) {
	t.Parallel()
	var finished atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	l := &stream.TCPListener{Name: "test", Addr: "127.0.0.1:0", Handle: func(ctx context.Context, c net.Conn) {
		<-ctx.Done()
		time.Sleep(200 * time.Millisecond) // finishing the call
		finished.Store(true)
	}}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", l.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // accepted
	cancel()
	time.Sleep(10 * time.Millisecond) // the context's Stop is under way
	l.Stop()
	if !finished.Load() {
		t.Fatal("Stop returned before the handler finished")
	}
}
