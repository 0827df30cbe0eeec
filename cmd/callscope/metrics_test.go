package main

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMetricsCoverOperations scrapes a real server's /metrics after one
// call has been processed: live sessions, event-stream subscribers, queue
// depth and age by job kind, stage latencies, job (delivery) outcomes and
// recording-store operations are all there.
func TestMetricsCoverOperations(t *testing.T) {
	srv := startServer(t, t.TempDir(), "CALLSCOPE_STT_ENGINE=none", "CALLSCOPE_TRUSTED_NETWORKS=127.0.0.1/32")
	base := "http://" + srv.addr
	post := func(path, body string) {
		t.Helper()
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
	}
	post("/api/v1/calls", `{"call_id": "metrics-1"}`)
	post("/api/v1/calls/metrics-1/segments", chaosSegments())
	post("/api/v1/process", `{"call_id": "metrics-1", "tenant_id": "default"}`)
	f := &liveFixture{base: base}
	var c endedCall
	for deadline := time.Now().Add(time.Minute); c.ProcessingStatus != "completed" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		f.get(t, "/api/v1/calls/metrics-1", &c)
	}
	// The queue counts a job once it has finished, a moment after the
	// call shows processed.
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(body), `callscope_jobs_duration_seconds_count{kind="call.process",outcome="completed"} 1`) ||
			time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		"callscope_live_sessions 0", "callscope_event_stream_subscribers 0",
		`callscope_queue_waiting_jobs{kind="call.process"}`, `callscope_queue_oldest_waiting_seconds{kind="webhook.deliver"}`,
		`callscope_stage_duration_seconds_count{stage="classify",status="completed"} 1`,
		`callscope_jobs_duration_seconds_count{kind="call.process",outcome="completed"} 1`,
		`callscope_recording_store_operations_total{op="put",outcome="error"} 0`,
		`callscope_http_request_duration_seconds_count`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	// Every metric the Grafana dashboard graphs is one the server exports.
	dash, err := os.ReadFile("../../packaging/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`callscope_[a-z_]+`).FindAllString(string(dash), -1)
	if len(names) < 10 {
		t.Fatalf("the dashboard graphs %d metrics", len(names))
	}
	for _, n := range names {
		if !strings.Contains(string(body), "\n"+n) {
			t.Errorf("the dashboard graphs %s, which /metrics does not have", n)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
