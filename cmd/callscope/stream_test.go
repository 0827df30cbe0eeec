package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/audiosocket"
	"github.com/callscope/callscope/internal/stream/openchs"
	"github.com/callscope/callscope/internal/stream/streamtest"
	"github.com/callscope/callscope/internal/stream/twilio"
)

func TestStreamHelp(t *testing.T) {
	out, errOut, code := cli(t, nil, "stream", "--help")
	if code != 0 || !strings.Contains(out+errOut, "Usage: callscope stream") || !strings.Contains(out+errOut, "-twilio-auth-token") {
		t.Fatalf("exit %d, output:\n%s%s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"stream", "--protocol", "sip", "--addr", "127.0.0.1:1", "x.wav"},
		{"stream", "--protocol", "openchs", "x.wav"},
		{"stream", "--protocol", "openchs", "--addr", "127.0.0.1:1"},
		{"stream", "--protocol", "audiosocket", "--addr", "127.0.0.1:1", "--rate", "11025", "x.wav"},
		{"stream", "--protocol", "twilio", "--url", "http://127.0.0.1:1/twilio/stream", "x.wav"},
	} {
		if _, errOut, code := cli(t, nil, args...); code != 2 || !strings.Contains(errOut, "callscope stream:") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
}

// writeWAV writes channels of 16-bit samples at rate as a WAV file.
func writeWAV(t *testing.T, rate int, channels ...[]int16) string {
	t.Helper()
	p := &audio.PCM{SampleRate: rate}
	for _, ch := range channels {
		f := make([]float32, len(ch))
		for i, s := range ch {
			f[i] = float32(s) / 32768
		}
		p.Channels = append(p.Channels, f)
	}
	name := filepath.Join(t.TempDir(), "call.wav")
	if err := os.WriteFile(name, p.WAV(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestStreamPlaysIntoEachListener(t *testing.T) {
	t.Run("AudioSocket", func(t *testing.T) {
		rec := streamtest.NewRecorder()
		l := &audiosocket.Listener{Addr: "127.0.0.1:0", Sessions: rec}
		if err := l.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer l.Stop()
		pcm := streamtest.Signal(12000, 8000, 7)
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"stream", "--protocol", "audiosocket", "--addr", l.ListenAddr().String(),
			"--speed", "0", "--calls", "3", writeWAV(t, 8000, pcm)}, &out, &errOut)
		if err != nil {
			t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "3 calls, 0 failed") {
			t.Fatalf("output:\n%s", out.String())
		}
		for range 3 {
			c, err := rec.WaitEnded(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := c.Reason(); r != stream.EndHangup || !slices.Equal(c.Samples(0), pcm) {
				t.Fatalf("call %s ended %q with %d samples of %d", c.Start.ExternalID, r, len(c.Samples(0)), len(pcm))
			}
		}
	})
	t.Run("OpenCHSResampled", func(t *testing.T) {
		rec := streamtest.NewRecorder()
		l := &openchs.Listener{Addr: "127.0.0.1:0", Sessions: rec}
		if err := l.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer l.Stop()
		// An 8 kHz file goes out at 16 kHz: twice the samples, same length.
		pcm := streamtest.Signal(8000, 8000, 8)
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"stream", "--protocol", "openchs", "--addr", l.ListenAddr().String(),
			"--speed", "20", writeWAV(t, 8000, pcm)}, &out, &errOut)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut.String())
		}
		c, err := rec.WaitEnded(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := c.Reason(); r != stream.EndClosed || len(c.Samples(0)) != 16000 || c.Start.SampleRate != 16000 {
			t.Fatalf("ended %q with %d samples at %d Hz", r, len(c.Samples(0)), c.Start.SampleRate)
		}
	})
	t.Run("TwilioStereoSigned", func(t *testing.T) {
		rec := streamtest.NewRecorder()
		h := &twilio.Handler{Sessions: rec, Tokens: staticToken("s3cret")}
		srv := newStreamServer(t, h)
		in, outb := streamtest.Signal(4000, 8000, 9), streamtest.Signal(4000, 8000, 10)
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"stream", "--protocol", "twilio", "--addr", srv, "--speed", "0",
			"--twilio-auth-token", "s3cret", "--param", "callId=42.1", writeWAV(t, 8000, in, outb)}, &out, &errOut)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut.String())
		}
		c, err := rec.WaitEnded(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ulaw := func(p []int16) []int16 { return audio.AppendULawDecoded(nil, audio.AppendULawEncoded(nil, p)) }
		if r, _ := c.Reason(); r != stream.EndHangup || !slices.Equal(c.Samples(0), ulaw(in)) || !slices.Equal(c.Samples(1), ulaw(outb)) ||
			c.Start.Params["callId"] != "42.1" {
			t.Fatalf("ended %q; tracks %v; params %v", r, c.Start.Tracks, c.Start.Params)
		}
		// A wrong token is refused, and the command says so (--url this time).
		out.Reset()
		errOut.Reset()
		err = run(t.Context(), []string{"stream", "--protocol", "twilio", "--url", "ws://" + srv + "/twilio/stream", "--speed", "0",
			"--twilio-auth-token", "wrong", writeWAV(t, 8000, in)}, &out, &errOut)
		if err == nil || !strings.Contains(errOut.String(), "403") {
			t.Fatalf("wrong token: %v\n%s", err, errOut.String())
		}
	})
}

type staticToken string

func (s staticToken) AuthTokenFor(*http.Request) (string, bool) { return string(s), true }

// newStreamServer serves h at /twilio/stream and returns the server's
// host:port.
func newStreamServer(t *testing.T, h *twilio.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /twilio/stream", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		h.Stop()
		srv.Close()
	})
	return strings.TrimPrefix(srv.URL, "http://")
}
