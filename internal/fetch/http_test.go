package fetch_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/fetch"
)

// loopback lets the test reach its own httptest servers; production
// policies refuse 127.0.0.1.
var loopback = egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "twilio-auth-token"
)

var mp3 = []byte(strings.Repeat("\xff\xfb\x90\x64 mp3 frame ", 500))

// twilio serves recordings as Twilio's API does: Basic auth with the
// account's SID and token, 404 for unknown recordings.
func twilio(tb testing.TB) (*httptest.Server, *atomic.Value) {
	srv, lastAuth, _ := twilioCounting(tb)
	return srv, lastAuth
}

// twilioCounting is twilio that also counts the requests that reached it.
func twilioCounting(tb testing.TB) (*httptest.Server, *atomic.Value, *atomic.Int32) {
	tb.Helper()
	var lastAuth atomic.Value
	lastAuth.Store("")
	hits := new(atomic.Int32)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Recordings/{rec}", func(w http.ResponseWriter, r *http.Request) {
		lastAuth.Store(r.Header.Get("Authorization"))
		hits.Add(1)
		user, pass, ok := r.BasicAuth()
		if !ok || user != accountSID || pass != authToken {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			http.Error(w, `{"code": 20003, "message": "Authenticate"}`, http.StatusUnauthorized)
			return
		}
		switch r.PathValue("rec") {
		case "RE0001.mp3":
			w.Header().Set("Content-Type", "audio/mpeg")
			w.Header().Set("Content-Length", strconv.Itoa(len(mp3)))
			w.Write(mp3)
		case "RE0002.mp3": // an answer too large for its declared length
			w.Header().Set("Content-Type", "audio/mpeg")
			w.Header().Set("Content-Length", "999999999")
			w.WriteHeader(http.StatusOK)
		case "RE0003.mp3": // no Content-Length, streamed without end
			flusher := w.(http.Flusher)
			for i := 0; i < 200; i++ {
				if _, err := w.Write(make([]byte, 64<<10)); err != nil {
					return
				}
				flusher.Flush()
			}
		case "RE0004.mp3": // slow: headers, then nothing
			w.Header().Set("Content-Type", "audio/mpeg")
			w.Write(mp3[:100])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "RE0005.mp3":
			w.Header().Set("Retry-After", "7")
			http.Error(w, "upstream overloaded", http.StatusServiceUnavailable)
		default:
			http.Error(w, `{"code": 20404}`, http.StatusNotFound)
		}
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv, &lastAuth, hits
}

func twilioSource(policy egress.Policy, timeout time.Duration) *fetch.HTTP {
	h := fetch.NewHTTP(policy, timeout, 1<<20)
	h.Username, h.Password, h.AuthHosts = accountSID, authToken, []string{"127.0.0.1"}
	return h
}

func recordingURL(srv *httptest.Server, rec string) fetch.Ref {
	return fetch.Ref{CallID: "c_02", URL: srv.URL + "/2010-04-01/Accounts/" + accountSID + "/Recordings/" + rec}
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	srv, lastAuth := twilio(t)
	h := twilioSource(loopback, 5*time.Second)
	ctx := context.Background()

	t.Run("BasicAuth", func(t *testing.T) {
		got, info, err := readAll(t, h, recordingURL(srv, "RE0001.mp3"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(mp3) || info.Name != "RE0001.mp3" || info.ContentType != "audio/mpeg" || info.Size != int64(len(mp3)) {
			t.Fatalf("got %d bytes, info %+v", len(got), info)
		}
	})

	t.Run("WrongCredentials", func(t *testing.T) {
		h := twilioSource(loopback, 5*time.Second)
		h.Password = "stale-token"
		_, _, err := h.Fetch(ctx, recordingURL(srv, "RE0001.mp3"))
		if callscope.ErrorCode(err) != callscope.EUNAVAILABLE || isRetryable(err) ||
			!strings.Contains(callscope.ErrorMessage(err), "CALLSCOPE_RECORDING_URL_PASSWORD") {
			t.Fatalf("Fetch = %v, want a permanent EUNAVAILABLE naming the credentials", err)
		}
	})

	t.Run("CredentialsOnlyToAuthHosts", func(t *testing.T) {
		// The same server by another name is not on the list: the token
		// must not be sent there.
		ref := recordingURL(srv, "RE0001.mp3")
		ref.URL = strings.Replace(ref.URL, "127.0.0.1", "localhost", 1)
		_, _, err := h.Fetch(ctx, ref)
		if callscope.ErrorCode(err) != callscope.EUNAVAILABLE || !strings.Contains(callscope.ErrorMessage(err), "needs credentials") {
			t.Fatalf("Fetch = %v, want EUNAVAILABLE saying credentials are needed", err)
		}
		if a := lastAuth.Load().(string); a != "" {
			t.Fatalf("Authorization %q sent to a host not in AuthHosts", a)
		}
	})

	t.Run("CredentialsInURLRefused", func(t *testing.T) {
		ref := recordingURL(srv, "RE0001.mp3")
		ref.URL = strings.Replace(ref.URL, "http://", "http://"+accountSID+":"+authToken+"@", 1)
		if _, _, err := h.Fetch(ctx, ref); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Fatalf("Fetch = %v, want EINVALID", err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, err := h.Fetch(ctx, recordingURL(srv, "RE9999.mp3"))
		if callscope.ErrorCode(err) != callscope.ENOTFOUND || isRetryable(err) {
			t.Fatalf("Fetch = %v, want ENOTFOUND", err)
		}
	})

	t.Run("ServerErrorRetryable", func(t *testing.T) {
		_, _, err := h.Fetch(ctx, recordingURL(srv, "RE0005.mp3"))
		var r retryableError
		if !errors.As(err, &r) || !r.Retryable() || r.RetryAfter() != 7*time.Second || callscope.ErrorCode(err) != callscope.EUNAVAILABLE {
			t.Fatalf("Fetch = %v, want retryable after 7s", err)
		}
	})

	t.Run("SizeLimitDeclared", func(t *testing.T) {
		_, _, err := h.Fetch(ctx, recordingURL(srv, "RE0002.mp3"))
		if callscope.ErrorCode(err) != callscope.ETOOLARGE {
			t.Fatalf("Fetch = %v, want ETOOLARGE", err)
		}
	})

	t.Run("SizeLimitUndeclared", func(t *testing.T) {
		got, _, err := readAll(t, h, recordingURL(srv, "RE0003.mp3"))
		if callscope.ErrorCode(err) != callscope.ETOOLARGE || isRetryable(err) {
			t.Fatalf("read = %v, want ETOOLARGE", err)
		}
		if len(got) > 1<<20 {
			t.Fatalf("read %d bytes past the 1 MiB limit", len(got))
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		h := twilioSource(loopback, 300*time.Millisecond)
		start := time.Now()
		_, _, err := readAll(t, h, recordingURL(srv, "RE0004.mp3"))
		if !isRetryable(err) || !strings.Contains(err.Error(), "DOWNLOAD_TIMEOUT_SECONDS") {
			t.Fatalf("read = %v, want a retryable timeout", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v with a 300ms limit", d)
		}
	})

	t.Run("URLTemplate", func(t *testing.T) {
		// AUDIO_DOWNLOAD_METHOD=http: the PBX's web server by call id; the
		// template's host gets the credentials without being listed.
		h := twilioSource(loopback, 5*time.Second)
		h.AuthHosts = nil
		h.URLTemplate = srv.URL + "/2010-04-01/Accounts/" + accountSID + "/Recordings/{call_id}"
		got, _, err := readAll(t, h, pbxRef("RE0001.mp3"))
		if err != nil || string(got) != string(mp3) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		if _, _, err := h.Fetch(ctx, pbxRef("../../RE0001.mp3")); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Fatalf("escaping id: %v, want EINVALID", err)
		}
	})
}

func TestHTTPRefusesLoopbackByDefault(t *testing.T) {
	t.Parallel()
	srv, _, hits := twilioCounting(t)
	h := twilioSource(egress.Policy{}, 5*time.Second)
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		ref := recordingURL(srv, "RE0001.mp3")
		ref.URL = strings.Replace(ref.URL, srv.URL, u, 1)
		_, _, err := h.Fetch(context.Background(), ref)
		if callscope.ErrorCode(err) != callscope.EINVALID || isRetryable(err) || !errors.Is(err, egress.ErrBlocked) {
			t.Fatalf("Fetch(%s) = %v, want EINVALID wrapping egress.ErrBlocked", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the loopback server", n)
	}
}
