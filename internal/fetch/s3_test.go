package fetch_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob/s3blob"
	"github.com/callscope/callscope/internal/fetch"
)

var wav = []byte("RIFF\x24\x08\x00\x00WAVEfmt " + strings.Repeat("\x00", 3000))

// MustS3 starts an in-process S3 server (over TLS, as production S3 is)
// with a bucket "calls" holding a voice-bot recording and a PBX recording,
// and returns a client for it. wrap, if not nil, sits in front of the
// server.
func MustS3(tb testing.TB, wrap func(http.Handler) http.Handler) (*minio.Client, *httptest.Server) {
	tb.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("calls"); err != nil {
		tb.Fatal(err)
	}
	var h http.Handler = gofakes3.New(backend).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewTLSServer(h)
	tb.Cleanup(srv.Close)
	cl, err := s3blob.NewClient(s3blob.Config{Endpoint: strings.TrimPrefix(srv.URL, "https://"), Region: "us-east-1",
		UseSSL: true, AccessKey: "bot", SecretKey: "bot-secret", Transport: srv.Client().Transport})
	if err != nil {
		tb.Fatal(err)
	}
	if wrap == nil {
		ctx := context.Background()
		for key, body := range map[string][]byte{"sessions/2025/10/24/sess-42.wav": wav, "pbx/" + pbxID + ".wav": wav} {
			if _, err := cl.PutObject(ctx, "calls", key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return cl, srv
}

func TestS3(t *testing.T) {
	t.Parallel()
	cl, _ := MustS3(t, nil)
	s := &fetch.S3{Client: cl, Bucket: "calls", KeyTemplate: "pbx/{call_id}.wav", Timeout: 10 * time.Second}
	ctx := context.Background()

	t.Run("RecordingKey", func(t *testing.T) {
		got, info, err := readAll(t, s, fetch.Ref{CallID: "c_03", Key: "sessions/2025/10/24/sess-42.wav"})
		if err != nil || !bytes.Equal(got, wav) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		if info.Name != "sess-42.wav" || info.Size != int64(len(wav)) || info.ContentType != "audio/wav" {
			t.Fatalf("info = %+v", info)
		}
	})

	t.Run("KeyTemplate", func(t *testing.T) {
		got, _, err := readAll(t, s, pbxRef(pbxID))
		if err != nil || !bytes.Equal(got, wav) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, err := s.Fetch(ctx, pbxRef("1761295999.1"))
		if callscope.ErrorCode(err) != callscope.ENOTFOUND || isRetryable(err) {
			t.Fatalf("Fetch = %v, want ENOTFOUND", err)
		}
	})

	t.Run("EscapeRejected", func(t *testing.T) {
		for _, ref := range []fetch.Ref{pbxRef("../sessions/2025/10/24/sess-42"), {Key: "../calls/x.wav"}, {Key: "/abs.wav"}} {
			if _, _, err := s.Fetch(ctx, ref); callscope.ErrorCode(err) != callscope.EINVALID {
				t.Errorf("Fetch(%+v) = %v, want EINVALID", ref, err)
			}
		}
	})

	t.Run("SizeLimit", func(t *testing.T) {
		s := *s
		s.MaxBytes = 100
		if _, _, err := s.Fetch(ctx, pbxRef(pbxID)); callscope.ErrorCode(err) != callscope.ETOOLARGE {
			t.Fatalf("Fetch = %v, want ETOOLARGE", err)
		}
	})
}

func TestS3ServerErrorRetryable(t *testing.T) {
	t.Parallel()
	cl, _ := MustS3(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>reduce your request rate</Message></Error>`))
		})
	})
	// minio-go retries by itself; the context bounds that.
	s := &fetch.S3{Client: cl, Bucket: "calls", KeyTemplate: "pbx/{call_id}.wav", Timeout: time.Second}
	_, _, err := s.Fetch(context.Background(), pbxRef(pbxID))
	if !isRetryable(err) || callscope.ErrorCode(err) != callscope.EUNAVAILABLE {
		t.Fatalf("Fetch = %v, want a retryable EUNAVAILABLE", err)
	}
}
