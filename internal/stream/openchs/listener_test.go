package openchs

import (
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/streamtest"
)

func startListener(t *testing.T, rec *streamtest.Recorder, configure func(*Listener)) (*Listener, *streamtest.Log) {
	t.Helper()
	logger, log := streamtest.NewLogger()
	l := &Listener{Addr: "127.0.0.1:0", Sessions: rec, Logger: logger}
	if configure != nil {
		configure(l)
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l, log
}

func mustEnd(t *testing.T, rec *streamtest.Recorder, want stream.EndReason) *streamtest.Call {
	t.Helper()
	c, err := rec.WaitEnded(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, n := c.Reason(); got != want || n != 1 {
		t.Fatalf("call ended with %q (%d Close calls), want %q once", got, n, want)
	}
	if v := rec.Violations(); len(v) > 0 {
		t.Fatalf("session contract broken: %v", v)
	}
	return c
}

func waitLog(log *streamtest.Log, s string) bool {
	for range 100 {
		if log.Contains(s) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestListenerReceivesPlayedCall(t *testing.T) {
	t.Parallel()
	for _, speed := range []float64{0, 10} {
		rec := streamtest.NewRecorder()
		l, _ := startListener(t, rec, nil)
		pcm := streamtest.Signal(SampleRate*3/2+3, SampleRate, 4)
		res, err := Player{Addr: l.ListenAddr().String(), Speed: speed}.Play(t.Context(), "1761295415.12887", pcm)
		if err != nil {
			t.Fatal(err)
		}
		if res.Frames != len(stream.Chunks(pcm, SampleRate)) {
			t.Fatalf("%d frames sent", res.Frames)
		}
		c := mustEnd(t, rec, stream.EndClosed)
		s := c.Start
		if s.Protocol != stream.ProtocolOpenCHS || s.ExternalID != "1761295415.12887" || s.SampleRate != SampleRate ||
			!slices.Equal(s.Tracks, []string{stream.TrackMixed}) || !s.ClientAddr.Addr().IsLoopback() {
			t.Fatalf("start = %+v", s)
		}
		if !slices.Equal(c.Samples(0), pcm) {
			t.Fatalf("speed %v: %d samples received, %d played, or they differ", speed, len(c.Samples(0)), len(pcm))
		}
		n := 0
		for i, f := range c.Frames() {
			if want := time.Duration(n) * time.Second / SampleRate; f.At != want {
				t.Fatalf("frame %d at %v, want %v", i, f.At, want)
			}
			n += len(f.PCM)
		}
	}
}

// TestListenerFragmentedReads sends the stream a few bytes at a time,
// samples split across writes, as the PBX's reads arrive.
func TestListenerFragmentedReads(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, _ := startListener(t, rec, nil)
	c, err := net.Dial("tcp", l.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	pcm := streamtest.Signal(4000, SampleRate, 5)
	raw, _ := AppendID(nil, "42.7")
	raw = AppendSamples(raw, pcm)
	for i := 0; i < len(raw); i += 89 {
		if _, err := c.Write(raw[i:min(i+89, len(raw))]); err != nil {
			t.Fatal(err)
		}
		if i%(89*20) == 0 {
			time.Sleep(time.Millisecond) // let reads see partial samples
		}
	}
	c.Close()
	call := mustEnd(t, rec, stream.EndClosed)
	if !slices.Equal(call.Samples(0), pcm) {
		t.Fatal("samples differ")
	}
}

func TestListenerRejectsBadID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, log string
	}{
		{"TooLong", strings.Repeat("1", MaxIDLen+50) + "\r", "longer than"},
		{"Binary", "\x00\x00\x00\x00", "byte 0x00"},
		{"Silent", "", "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := streamtest.NewRecorder()
			l, log := startListener(t, rec, func(l *Listener) { l.HandshakeTimeout = 200 * time.Millisecond })
			c, err := net.Dial("tcp", l.ListenAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = c.Write([]byte(tc.in))
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("the listener did not close the connection: %v", err)
			}
			if !waitLog(log, tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, log)
			}
			if n := len(rec.Calls()); n != 0 {
				t.Fatalf("%d sessions opened", n)
			}
		})
	}
}

func TestListenerIdleTimeout(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, _ := startListener(t, rec, func(l *Listener) { l.IdleTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", l.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, _ := AppendID(nil, "1.1")
	_, _ = c.Write(AppendSamples(raw, make([]int16, 320)))
	call := mustEnd(t, rec, stream.EndTimeout)
	if n := len(call.Samples(0)); n != 320 {
		t.Fatalf("%d samples", n)
	}
}

func TestListenerRefusesOtherNetworks(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, log := startListener(t, rec, func(l *Listener) { l.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	c, err := net.Dial("tcp", l.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, _ := AppendID(nil, "1.1")
	_, _ = c.Write(AppendSamples(raw, make([]int16, 320)))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read from a refused connection: %v", err)
	}
	if !waitLog(log, "connection refused") || !log.Contains("127.0.0.1") {
		t.Fatalf("no log line naming the refused address:\n%s", log)
	}
	if n := len(rec.Calls()); n != 0 {
		t.Fatalf("%d sessions opened", n)
	}
}

func TestListenerSessionEndsCall(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	rec.FailAudioAfter = 1
	l, _ := startListener(t, rec, nil)
	c, err := net.Dial("tcp", l.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, _ := AppendID(nil, "1.1")
	_, _ = c.Write(AppendSamples(raw, make([]int16, 320)))
	mustEnd(t, rec, stream.EndSession)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the listener did not close the connection: %v", err)
	}
}

func TestListenerStop(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, _ := startListener(t, rec, nil)
	c, err := net.Dial("tcp", l.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, _ := AppendID(nil, "1.1")
	_, _ = c.Write(raw)
	for len(rec.Calls()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	l.Stop()
	l.Stop()
	mustEnd(t, rec, stream.EndShutdown)
}
