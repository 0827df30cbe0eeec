package main

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestRecordingUploadsGoToS3 runs serve with recordings kept in S3 (an
// in-process S3 server, over TLS, trusted through SSL_CERT_FILE) and checks
// that a recording uploaded through the API is stored there, not in the
// data directory, and is served back.
func TestRecordingUploadsGoToS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("recs"); err != nil {
		t.Fatal(err)
	}
	s3 := httptest.NewTLSServer(gofakes3.New(backend).Server())
	t.Cleanup(s3.Close)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "s3.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s3.Certificate().Raw})
	if err := os.WriteFile(certFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	s := startServer(t, data, "SSL_CERT_FILE="+certFile, "CALLSCOPE_RECORDINGS_STORE=s3",
		"CALLSCOPE_S3_ENDPOINT="+strings.TrimPrefix(s3.URL, "https://"), "CALLSCOPE_S3_USE_SSL=true",
		"CALLSCOPE_S3_BUCKET=recs", "CALLSCOPE_S3_ACCESS_KEY=callscope", "CALLSCOPE_S3_SECRET_KEY=callscope-secret",
		"CALLSCOPE_S3_REGION=us-east-1")
	do := func(method, path, contentType string, body io.Reader) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s.addr+path, body)
		req.Header.Set("X-API-Key", s.adminKey)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	if res := do("POST", "/api/v1/calls", "application/json", strings.NewReader(`{"call_id":"s3-call-1"}`)); res.StatusCode != 201 {
		t.Fatalf("create call: %d", res.StatusCode)
	}
	audio := strings.Repeat("\xff\x7f\x80\x00", 2000) // μ-law, headerless
	res := do("POST", "/api/v1/calls/s3-call-1/recording?format=ulaw", "application/octet-stream", strings.NewReader(audio))
	if res.StatusCode != 201 && res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("upload: %d %s", res.StatusCode, b)
	}
	objects, err := backend.ListBucket("recs", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(objects.Contents) != 1 || objects.Contents[0].Size != int64(len(audio)) {
		t.Fatalf("objects in S3 = %+v", objects.Contents)
	}
	local, _ := os.ReadDir(filepath.Join(data, "recordings"))
	if len(local) != 0 {
		t.Fatalf("the upload also landed in the data directory: %v", local)
	}

	// Deleting the call deletes its object from S3.
	if res := do("POST", "/api/v1/calls/s3-call-1/end", "", nil); res.StatusCode != 200 {
		t.Fatalf("end: %d", res.StatusCode)
	}
	if res := do("DELETE", "/api/v1/calls/s3-call-1", "", nil); res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("delete: %d %s", res.StatusCode, b)
	}
	objects, err = backend.ListBucket("recs", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(objects.Contents) != 0 {
		t.Fatalf("objects left in S3 after deleting the call: %+v", objects.Contents)
	}
}
