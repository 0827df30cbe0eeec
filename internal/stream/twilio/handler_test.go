package twilio

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/streamtest"
)

const testToken = "0123456789abcdef0123456789abcdef"

// tokenFor gives the auth token of the tenant named in the request's
// path, as a multi-tenant mount would.
type tokenFor map[string]string

func (m tokenFor) AuthTokenFor(r *http.Request) (string, bool) {
	t, ok := m[r.URL.Path]
	return t, ok
}

// startServer mounts a Handler at /twilio/stream on an httptest server.
func startServer(t *testing.T, rec *streamtest.Recorder, configure func(*Handler)) (*Handler, string, *streamtest.Log) {
	t.Helper()
	logger, log := streamtest.NewLogger()
	h := &Handler{Sessions: rec, Logger: logger, Tokens: tokenFor{"/twilio/stream": testToken}}
	if configure != nil {
		configure(h)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /twilio/stream", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		h.Stop()
		srv.Close()
	})
	return h, "ws" + strings.TrimPrefix(srv.URL, "http") + "/twilio/stream", log
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

// viaULaw is what a listener receives of pcm sent as μ-law.
func viaULaw(pcm []int16) []int16 {
	return audio.AppendULawDecoded(nil, audio.AppendULawEncoded(nil, pcm))
}

func TestHandlerReceivesPlayedCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tracks int
		speed  float64
	}{
		{"Mono", 1, 0},
		{"StereoBothTracks", 2, 0},
		{"StereoRealTimeTimes10", 2, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := streamtest.NewRecorder()
			_, url, _ := startServer(t, rec, nil)
			var tracks [][]int16
			for i := range tc.tracks {
				tracks = append(tracks, streamtest.Signal(SampleRate*3/2+40, SampleRate, uint32(10+i)))
			}
			callSid := NewSid("CA")
			p := Player{URL: url, AuthToken: testToken, AccountSid: "AC1", Speed: tc.speed, Params: map[string]string{"callId": "1761295415.12887"}}
			res, err := p.Play(t.Context(), callSid, tracks...)
			if err != nil {
				t.Fatal(err)
			}
			c := mustEnd(t, rec, stream.EndHangup)
			s := c.Start
			wantTracks := []string{TrackInbound, TrackOutbound}[:tc.tracks]
			if s.Protocol != stream.ProtocolTwilio || s.ExternalID != callSid || !strings.HasPrefix(s.StreamID, "MZ") ||
				s.AccountID != "AC1" || s.SampleRate != SampleRate || !slices.Equal(s.Tracks, wantTracks) ||
				s.Params["callId"] != "1761295415.12887" || !s.ClientAddr.Addr().IsLoopback() {
				t.Fatalf("start = %+v", s)
			}
			frames := c.Frames()
			if len(frames) != res.Frames || res.Frames != tc.tracks*len(stream.Chunks(tracks[0], SampleRate)) {
				t.Fatalf("%d media received, %d sent", len(frames), res.Frames)
			}
			for i := range tracks {
				if !slices.Equal(c.Samples(i), viaULaw(tracks[i])) {
					t.Fatalf("track %d: the samples received differ from those played", i)
				}
				n := 0
				for _, f := range frames {
					if f.Track != i {
						continue
					}
					if want := time.Duration(n/8) * time.Millisecond; f.At != want {
						t.Fatalf("track %d: media at %v, want %v", i, f.At, want)
					}
					n += len(f.PCM)
				}
			}
		})
	}
}

func TestHandlerRefusesBadSignature(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	_, url, log := startServer(t, rec, nil)
	_, err := Player{URL: url, AuthToken: "not the token"}.Play(t.Context(), NewSid("CA"), make([]int16, 800))
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a stream signed with the wrong token: %v, want a 403", err)
	}
	if !waitLog(log, "invalid X-Twilio-Signature") {
		t.Fatalf("no log line:\n%s", log)
	}
	// Without a signature, and for a path no tenant owns.
	httpURL := "http" + strings.TrimPrefix(url, "ws")
	for _, tc := range []struct{ url, sig, detail string }{
		{httpURL, "", "missing X-Twilio-Signature"},
		{httpURL, "bm90IGEgc2lnbmF0dXJl", "invalid X-Twilio-Signature"},
		{httpURL + "/other", Sign(testToken, url+"/other"), "no Twilio auth token"},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")))
		if tc.sig != "" {
			req.Header.Set("X-Twilio-Signature", tc.sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if tc.url == httpURL+"/other" {
			// Not mounted: the mux answers, the handler never sees it.
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("%s: %d", tc.url, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"detail":"`+tc.detail) {
			t.Fatalf("signature %q: %d %s, want 403 naming %q", tc.sig, resp.StatusCode, body, tc.detail)
		}
	}
	if n := len(rec.Calls()); n != 0 {
		t.Fatalf("%d sessions opened", n)
	}
}

func TestHandlerRefusesUnknownTenant(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	_, url, _ := startServer(t, rec, func(h *Handler) { h.Tokens = tokenFor{} })
	_, err := Player{URL: url, AuthToken: testToken}.Play(t.Context(), NewSid("CA"), make([]int16, 800))
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a stream for no known tenant: %v, want a 403", err)
	}
}

func TestHandlerSignatureBehindProxy(t *testing.T) {
	t.Parallel()
	// Twilio signs wss://public-host/…; a TLS-terminating proxy forwards
	// to ws://127.0.0.1:port/… with the original Host and X-Forwarded-Proto.
	rec := streamtest.NewRecorder()
	h := &Handler{Sessions: rec, Tokens: tokenFor{"/twilio/stream": testToken}}
	req := httptest.NewRequest(http.MethodGet, "/twilio/stream", nil)
	req.Host = "calls.example.org"
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Twilio-Signature", Sign(testToken, "wss://calls.example.org/twilio/stream"))
	if why := h.verify(req); why != "" {
		t.Fatalf("signature of the public URL refused: %s", why)
	}
	req.Header.Set("X-Forwarded-Proto", "http")
	if why := h.verify(req); why == "" {
		t.Fatal("a wss signature accepted for a ws request")
	}
}

// dialRaw opens the stream without the player, to send what Twilio never
// would.
func dialRaw(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	h := http.Header{"X-Twilio-Signature": {Sign(testToken, url)}}
	c, _, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := c.Write(t.Context(), websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
}

// expectClose reads until the handler closes the stream and returns the
// close status.
func expectClose(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

const (
	monoStart = `{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"streamSid":"MZ1","accountSid":"AC1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`
	media0    = `{"event":"media","sequenceNumber":"2","streamSid":"MZ1","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"/////w=="}}`
)

func TestHandlerEnds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		msgs    []string
		want    stream.EndReason // "" when no session may open
		status  websocket.StatusCode
		log     string
		binary  bool
		closeWS bool
	}{
		{name: "MediaBeforeStart", msgs: []string{connectedJSON, media0}, status: websocket.StatusPolicyViolation, log: "message before start"},
		{name: "NotJSON", msgs: []string{connectedJSON, "hello"}, status: websocket.StatusPolicyViolation, log: "malformed message"},
		{name: "BadPayload", msgs: []string{monoStart, strings.Replace(media0, "/////w==", "%%%", 1)}, want: stream.EndProtocol, status: websocket.StatusPolicyViolation, log: "not base64"},
		{name: "TrackNotStarted", msgs: []string{monoStart, strings.Replace(media0, "inbound", "outbound", 1)}, want: stream.EndProtocol, status: websocket.StatusPolicyViolation, log: "track not started"},
		{name: "SecondStart", msgs: []string{monoStart, media0, monoStart}, want: stream.EndProtocol, status: websocket.StatusPolicyViolation, log: "second start"},
		{name: "Binary", msgs: []string{monoStart}, binary: true, want: stream.EndProtocol, status: websocket.StatusPolicyViolation, log: "binary message"},
		{name: "Silence", msgs: []string{monoStart, media0}, want: stream.EndTimeout, status: -1, log: "no message"},
		{name: "PeerCloses", msgs: []string{monoStart, media0}, closeWS: true, want: stream.EndClosed},
		{name: "UnknownEventIgnored", msgs: []string{monoStart, `{"event":"transcription","streamSid":"MZ1"}`, media0, stopJSON}, want: stream.EndHangup, status: websocket.StatusNormalClosure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := streamtest.NewRecorder()
			_, url, log := startServer(t, rec, func(h *Handler) { h.IdleTimeout = 200 * time.Millisecond })
			c := dialRaw(t, url)
			send(t, c, tc.msgs...)
			if tc.binary {
				_ = c.Write(t.Context(), websocket.MessageBinary, []byte{0xff})
			}
			if tc.closeWS {
				_ = c.Close(websocket.StatusNormalClosure, "")
			} else if got := expectClose(t, c); got != tc.status {
				t.Fatalf("close status %v, want %v", got, tc.status)
			}
			if tc.want != "" {
				mustEnd(t, rec, tc.want)
			} else {
				time.Sleep(50 * time.Millisecond)
				if n := len(rec.Calls()); n != 0 {
					t.Fatalf("%d sessions opened", n)
				}
			}
			if tc.log != "" && !waitLog(log, tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, log)
			}
		})
	}
}

func TestHandlerDTMF(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	_, url, _ := startServer(t, rec, nil)
	c := dialRaw(t, url)
	send(t, c, connectedJSON, monoStart, media0, dtmfJSON, markJSON, stopJSON)
	expectClose(t, c)
	call := mustEnd(t, rec, stream.EndHangup)
	if got := call.Digits(); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("digits %v", got)
	}
}

func TestHandlerSessionRefusesOrEnds(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	rec.FailAudioAfter = 1
	_, url, _ := startServer(t, rec, nil)
	c := dialRaw(t, url)
	send(t, c, monoStart, media0)
	if got := expectClose(t, c); got != websocket.StatusNormalClosure {
		t.Fatalf("close status %v", got)
	}
	mustEnd(t, rec, stream.EndSession)

	refusing := streamtest.NewRecorder()
	refusing.Refuse = io.ErrUnexpectedEOF
	_, url, log := startServer(t, refusing, nil)
	c = dialRaw(t, url)
	send(t, c, monoStart)
	expectClose(t, c)
	if !waitLog(log, "twilio call refused") {
		t.Fatalf("no log line:\n%s", log)
	}
}

func TestHandlerStop(t *testing.T) {
	t.Parallel()
	rec := streamtest.NewRecorder()
	h, url, _ := startServer(t, rec, nil)
	c := dialRaw(t, url)
	send(t, c, monoStart, media0)
	for len(rec.Calls()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	h.Stop()
	h.Stop()
	mustEnd(t, rec, stream.EndShutdown)
	h2 := http.Header{"X-Twilio-Signature": {Sign(testToken, url)}}
	if _, resp, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: h2}); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a stream opened on a stopped handler: %v", err)
	}
}
