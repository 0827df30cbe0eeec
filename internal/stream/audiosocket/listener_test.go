package audiosocket

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/streamtest"
)

// startListener runs a Listener on a loopback port for the test.
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

// dial opens a raw connection to l, as a misbehaving peer would.
func dial(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, k Kind, payload []byte) {
	t.Helper()
	b, err := AppendFrame(nil, k, payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// expectHangup reads from c until it closes and checks that the listener
// sent exactly one hangup frame.
func expectHangup(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		t.Logf("read: %v", err)
	}
	if !slices.Equal(got, []byte{0, 0, 0}) {
		t.Fatalf("listener sent % x, want a hangup frame 00 00 00", got)
	}
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

func TestListenerReceivesPlayedCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		kind      Kind
		closeOnly bool
		speed     float64
		want      stream.EndReason
	}{
		{"Slin8kHangupFrame", KindSlin, false, 0, stream.EndHangup},
		{"Slin16kSocketClose", KindSlin16, true, 0, stream.EndClosed},
		{"Slin44kRealTimeTimes10", KindSlin44, false, 10, stream.EndHangup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := streamtest.NewRecorder()
			l, _ := startListener(t, rec, nil)
			rate := tc.kind.SampleRate()
			pcm := streamtest.Signal(rate*3/2+7, rate, 1) // 1.5 s and a partial last frame
			id := uuid.New()
			p := Player{Addr: l.ListenAddr().String(), Kind: tc.kind, Speed: tc.speed, CloseOnly: tc.closeOnly}
			res, err := p.Play(t.Context(), id, pcm)
			if err != nil {
				t.Fatal(err)
			}
			c := mustEnd(t, rec, tc.want)
			s := c.Start
			if s.Protocol != stream.ProtocolAudioSocket || s.ExternalID != id.String() || s.SampleRate != rate ||
				!slices.Equal(s.Tracks, []string{stream.TrackChannel}) || !s.ClientAddr.Addr().IsLoopback() {
				t.Fatalf("start = %+v", s)
			}
			frames := c.Frames()
			if len(frames) != res.Frames || res.Frames != len(stream.Chunks(pcm, rate)) {
				t.Fatalf("%d frames received, %d sent, %d in the audio", len(frames), res.Frames, len(stream.Chunks(pcm, rate)))
			}
			var at time.Duration
			n := 0
			for i, f := range frames {
				if f.At != at || f.Track != 0 {
					t.Fatalf("frame %d at %v track %d, want %v track 0", i, f.At, f.Track, at)
				}
				n += len(f.PCM)
				at = time.Duration(n) * time.Second / time.Duration(rate)
			}
			if !slices.Equal(c.Samples(0), pcm) {
				t.Fatal("the samples received differ from those played")
			}
		})
	}
}

func TestListenerDTMF(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, _ := startListener(t, rec, nil)
	c := dial(t, l)
	id := uuid.New()
	write(t, c, KindUUID, id[:])
	write(t, c, KindDTMF, []byte("1")) // before any audio: kept until the session opens
	b, _ := AppendAudio(nil, KindSlin, make([]int16, 160))
	_, _ = c.Write(b)
	write(t, c, KindDTMF, []byte("#"))
	write(t, c, KindHangup, nil)
	call := mustEnd(t, rec, stream.EndHangup)
	if got := call.Digits(); !slices.Equal(got, []string{"1", "#"}) {
		t.Fatalf("digits %v, want [1 #]", got)
	}
}

func TestListenerEnds(t *testing.T) {
	t.Parallel()
	audio, _ := AppendAudio(nil, KindSlin, make([]int16, 160))
	for _, tc := range []struct {
		name   string
		frames [][]byte
		want   stream.EndReason
		hangup bool   // the listener must send a hangup frame
		log    string // a line that must be logged
	}{
		{"ErrorFrame", [][]byte{audio, {0xff, 0x00, 0x01, 0x02}}, stream.EndPeerError, false, "code=2"},
		{"UnknownKind", [][]byte{audio, {0x02, 0x00, 0x00}}, stream.EndProtocol, true, "malformed frame"},
		{"OddLength", [][]byte{audio, {0x10, 0x00, 0x01, 0x00}}, stream.EndProtocol, true, "whole 16-bit samples"},
		{"FormatChange", [][]byte{audio, {0x12, 0x00, 0x02, 0, 0}}, stream.EndProtocol, true, "audio format changed"},
		{"SecondUUID", [][]byte{audio, append([]byte{0x01, 0x00, 0x10}, make([]byte, 16)...)}, stream.EndProtocol, true, "unexpected frame"},
		{"Silence", [][]byte{audio}, stream.EndTimeout, true, "no audio from asterisk"},
		{"HangupBeforeAudio", [][]byte{{0, 0, 0}}, stream.EndHangup, false, "audiosocket call ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := streamtest.NewRecorder()
			l, log := startListener(t, rec, func(l *Listener) { l.IdleTimeout = 200 * time.Millisecond })
			c := dial(t, l)
			id := uuid.New()
			write(t, c, KindUUID, id[:])
			for _, f := range tc.frames {
				if _, err := c.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			call := mustEnd(t, rec, tc.want)
			if call.Start.ExternalID != id.String() {
				t.Fatalf("external id %q", call.Start.ExternalID)
			}
			if tc.hangup {
				expectHangup(t, c)
			}
			if !waitLog(log, tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, log)
			}
		})
	}
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

func TestListenerDTMFAloneDoesNotKeepCallAlive(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, _ := startListener(t, rec, func(l *Listener) { l.IdleTimeout = 200 * time.Millisecond })
	c := dial(t, l)
	id := uuid.New()
	write(t, c, KindUUID, id[:])
	b, _ := AppendAudio(nil, KindSlin, make([]int16, 160))
	_, _ = c.Write(b)
	go func() {
		for range 40 { // 2 s of keys, far past the idle timeout
			if _, err := c.Write([]byte{byte(KindDTMF), 0, 1, '5'}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	call := mustEnd(t, rec, stream.EndTimeout)
	if n := len(call.Digits()); n > 8 {
		t.Fatalf("%d keys before the timeout", n)
	}
}

func TestListenerBadPeerDoesNotDisturbOthers(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, _ := startListener(t, rec, nil)
	pcm := streamtest.Signal(8000, 8000, 2)
	done := make(chan error, 1)
	go func() {
		_, err := Player{Addr: l.ListenAddr().String(), Speed: 5}.Play(context.Background(), uuid.New(), pcm)
		done <- err
	}()
	bad := dial(t, l)
	id := uuid.New()
	write(t, bad, KindUUID, id[:])
	_, _ = bad.Write([]byte{0x10, 0x00, 0x03, 1, 2, 3})
	bc := mustEnd(t, rec, stream.EndProtocol)
	if bc.Start.ExternalID != id.String() {
		t.Fatalf("first call to end is %s, want the bad one", bc.Start.ExternalID)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	good := mustEnd(t, rec, stream.EndHangup)
	if !slices.Equal(good.Samples(0), pcm) {
		t.Fatal("the good call lost audio")
	}
}

func TestListenerFirstFrameMustBeUUID(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, log := startListener(t, rec, nil)
	c := dial(t, l)
	b, _ := AppendAudio(nil, KindSlin, make([]int16, 160))
	_, _ = c.Write(b)
	expectHangup(t, c)
	if !waitLog(log, "first frame is not a uuid") {
		t.Fatalf("no log line:\n%s", log)
	}
	if n := len(rec.Calls()); n != 0 {
		t.Fatalf("%d sessions opened", n)
	}
}

func TestListenerRefusesOtherNetworks(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, log := startListener(t, rec, func(l *Listener) { l.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	// The player may well write the whole call into socket buffers before
	// the refusal lands; what counts is that nothing reaches Sessions.
	_, _ = Player{Addr: l.ListenAddr().String()}.Play(t.Context(), uuid.New(), streamtest.Signal(8000, 8000, 3))
	c := dial(t, l)
	id := uuid.New()
	write(t, c, KindUUID, id[:])
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection from 127.0.0.1 stayed open (read %d bytes, %v)", n, err)
	}
	if !waitLog(log, "connection refused") || !log.Contains("127.0.0.1") {
		t.Fatalf("no log line naming the refused address:\n%s", log)
	}
	if n := len(rec.Calls()); n != 0 {
		t.Fatalf("%d sessions opened", n)
	}
}

func TestListenerSessionRefusesCall(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	rec.Refuse = errors.New("unknown call")
	l, log := startListener(t, rec, nil)
	c := dial(t, l)
	id := uuid.New()
	write(t, c, KindUUID, id[:])
	b, _ := AppendAudio(nil, KindSlin, make([]int16, 160))
	_, _ = c.Write(b)
	expectHangup(t, c)
	if !waitLog(log, "unknown call") {
		t.Fatalf("no log line:\n%s", log)
	}
}

func TestListenerSessionEndsCall(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	rec.FailAudioAfter = 5
	l, _ := startListener(t, rec, nil)
	c := dial(t, l)
	id := uuid.New()
	write(t, c, KindUUID, id[:])
	b, _ := AppendAudio(nil, KindSlin, make([]int16, 160))
	for range 5 {
		_, _ = c.Write(b)
	}
	call := mustEnd(t, rec, stream.EndSession)
	expectHangup(t, c)
	if n := len(call.Frames()); n != 5 {
		t.Fatalf("%d frames", n)
	}
}

func TestListenerStop(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	l, _ := startListener(t, rec, nil)
	c := dial(t, l)
	id := uuid.New()
	write(t, c, KindUUID, id[:])
	b, _ := AppendAudio(nil, KindSlin, make([]int16, 160))
	_, _ = c.Write(b)
	for len(rec.Calls()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	l.Stop()
	l.Stop()
	mustEnd(t, rec, stream.EndShutdown)
	if _, err := net.Dial("tcp", l.ListenAddr().String()); err == nil {
		t.Fatal("the stopped listener still accepts connections")
	}
}

func TestListenerStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	l := &Listener{Addr: "127.0.0.1:0", Sessions: streamtest.NewRecorder()}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := l.ListenAddr().String()
	cancel()
	for range 100 {
		if _, err := net.Dial("tcp", addr); err != nil {
			l.Stop()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the listener still accepts connections after its context ended")
}
