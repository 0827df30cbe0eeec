package s3blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/blob/s3blob"
	"github.com/callscope/callscope/internal/config"
)

// MustStore starts an in-process S3 server with an empty bucket and
// returns a Store on it.
func MustStore(tb testing.TB, prefix string) *s3blob.Store {
	tb.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("recordings"); err != nil {
		tb.Fatal(err)
	}
	// Over TLS, as production S3 is: gofakes3 does not decode the chunked
	// signed payloads minio-go sends over plain http.
	srv := httptest.NewTLSServer(gofakes3.New(backend).Server())
	tb.Cleanup(srv.Close)
	s, err := s3blob.New(s3blob.Config{
		Endpoint: strings.TrimPrefix(srv.URL, "https://"), Region: "us-east-1", UseSSL: true,
		AccessKey: "callscope", SecretKey: "callscope-secret", Transport: srv.Client().Transport,
	}, "recordings", prefix)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, "tenant-a/")
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}

	t.Run("PutOpenSeekDelete", func(t *testing.T) {
		data := []byte(strings.Repeat("GSM audio frame ", 4096))
		// A reader that hides its size, as an upload stream does.
		n, err := s.Put(ctx, "calls/c1/recording.gsm", io.MultiReader(bytes.NewReader(data)))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Put = %d, %v", n, err)
		}
		o, err := s.Open(ctx, "calls/c1/recording.gsm")
		if err != nil {
			t.Fatal(err)
		}
		if o.Size() != int64(len(data)) || o.ModTime().IsZero() {
			t.Fatalf("Size = %d, ModTime = %v", o.Size(), o.ModTime())
		}
		// A Range request: seek to the middle and read a few bytes.
		if _, err := o.Seek(1000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		if _, err := io.ReadFull(o, buf); err != nil || !bytes.Equal(buf, data[1000:1016]) {
			t.Fatalf("read after seek = %q, %v", buf, err)
		}
		if end, err := o.Seek(-5, io.SeekEnd); err != nil || end != int64(len(data)-5) {
			t.Fatalf("Seek from end = %d, %v", end, err)
		}
		rest, err := io.ReadAll(o)
		if err != nil || !bytes.Equal(rest, data[len(data)-5:]) {
			t.Fatalf("tail = %q, %v", rest, err)
		}
		o.Close()

		// The prefix is applied: the object is under tenant-a/ in the bucket.
		if _, err := s.Client.StatObject(ctx, "recordings", "tenant-a/calls/c1/recording.gsm", minio.StatObjectOptions{}); err != nil {
			t.Fatalf("object not under the prefix: %v", err)
		}

		if err := s.Delete(ctx, "calls/c1/recording.gsm"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, "calls/c1/recording.gsm"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("Open after Delete = %v, want ENOTFOUND", err)
		}
		if err := s.Delete(ctx, "calls/c1/recording.gsm"); err != nil {
			t.Fatalf("Delete of a missing key = %v", err)
		}
	})

	t.Run("MultipartUnknownSize", func(t *testing.T) {
		// Larger than one part: the upload goes in parts and reads back whole.
		s := *s
		s.PartSize = 5 << 20
		data := make([]byte, 11<<20+123)
		rand.Read(data)
		n, err := s.Put(ctx, "big.wav", io.MultiReader(bytes.NewReader(data)))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Put = %d, %v", n, err)
		}
		o, err := s.Open(ctx, "big.wav")
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		got, err := io.ReadAll(o)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes, %v", len(got), err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := s.Open(ctx, "no/such.gsm"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("Open = %v, want ENOTFOUND", err)
		}
	})

	t.Run("InvalidKey", func(t *testing.T) {
		for _, k := range []string{"../escape", "/abs", "a//b", ""} {
			if _, err := s.Put(ctx, k, strings.NewReader("x")); callscope.ErrorCode(err) != callscope.EINVALID {
				t.Errorf("Put(%q) = %v, want EINVALID", k, err)
			}
		}
	})

	t.Run("FailedPutLeavesNothing", func(t *testing.T) {
		_, err := s.Put(ctx, "broken.gsm", io.MultiReader(strings.NewReader("half"), errReader{}))
		if err == nil {
			t.Fatal("Put of a failing reader succeeded")
		}
		if _, err := s.Open(ctx, "broken.gsm"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("Open after failed Put = %v, want ENOTFOUND", err)
		}
	})
}

func TestStoreWrongCredentials(t *testing.T) {
	t.Parallel()
	// gofakes3 does not check signatures, so refuse them in front of it as
	// a real server would.
	backend := s3mem.New()
	backend.CreateBucket("recordings")
	fake := gofakes3.New(backend).Server()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=right/") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>unknown key</Message></Error>`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	s, err := s3blob.New(s3blob.Config{Endpoint: strings.TrimPrefix(srv.URL, "https://"), Region: "us-east-1",
		UseSSL: true, Transport: srv.Client().Transport, AccessKey: "wrong", SecretKey: "x"}, "recordings", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(context.Background(), "a.gsm", strings.NewReader("x"))
	if callscope.ErrorCode(err) != callscope.EUNAVAILABLE || !strings.Contains(callscope.ErrorMessage(err), "CALLSCOPE_S3_ACCESS_KEY") {
		t.Fatalf("Put with wrong key = %v, want EUNAVAILABLE naming the variable", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by client") }

var _ blob.Store = (*s3blob.Store)(nil)

func TestFromConfig(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) *config.Config {
		c, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	s, err := s3blob.FromConfig(load(map[string]string{"CALLSCOPE_RECORDINGS_STORE": "s3",
		"CALLSCOPE_S3_ENDPOINT": "minio:9000", "CALLSCOPE_S3_BUCKET": "recordings", "CALLSCOPE_S3_PREFIX": "prod/"}))
	if err != nil || s.Bucket != "recordings" || s.Prefix != "prod/" || s.Client.EndpointURL().Host != "minio:9000" ||
		s.Client.EndpointURL().Scheme != "https" {
		t.Fatalf("FromConfig = %+v, %v", s, err)
	}
	c := load(nil)
	c.S3Endpoint = "minio:9000"
	if _, err := s3blob.FromConfig(c); err == nil || !strings.HasPrefix(err.Error(), "CALLSCOPE_S3_BUCKET") {
		t.Fatalf("FromConfig without bucket = %v, want an error naming CALLSCOPE_S3_BUCKET", err)
	}
}
