package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// figuresEnv turns the throughput figures on (make figures sets it).
const figuresEnv = "CALLSCOPE_FIGURES"

// figuresResults is a voice-bot results payload (seed 004) whose session id
// each request replaces.
const figuresResults = `{"session_id": "SESSION", "caller_id": "+254712345678", "from_number": "+254712345678",
  "call_duration_seconds": 184.5, "disconnected_by": "user", "call_direction": "inbound",
  "transcript": [
    {"role": "assistant", "content": "Good morning, you are through to Acme Energy. My name is Zawadi, how can I help?", "start_time": 0.6, "end_time": 5.2},
    {"role": "user", "content": "Hi, my token did not arrive after I paid two thousand shillings this morning.", "start_time": 5.9, "end_time": 10.4},
    {"role": "assistant", "content": "I am sorry about that. Can you give me the meter number?", "start_time": 10.9, "end_time": 13.8},
    {"role": "user", "content": "It is 0412 3344 5566.", "start_time": 14.3, "end_time": 17.0}],
  "post_call_analysis": {"summary": "Customer's token was resent.", "sentiment": "positive", "resolved": true},
  "usage_metrics": {"post_call": {"prompt_tokens": 2400, "completion_tokens": 180}}}`

// TestFigures measures, in one run, SQLite, PostgreSQL with one replica and
// PostgreSQL with two: results-webhook ingestion (POST /api/v1/call-results
// from 32 clients), GET /api/v1/calls/active with 100 active calls (32
// clients), and the post-call pipeline's throughput (300 calls with
// transcripts queued at once, built-in engines). The clients run in this
// process, spread evenly over the replicas. It prints a table.
func TestFigures(t *testing.T) {
	if os.Getenv(figuresEnv) == "" {
		t.Skipf("set %s=1 (make figures) to measure", figuresEnv)
	}
	url := os.Getenv("CALLSCOPE_TEST_DATABASE_URL")
	type setup struct {
		name     string
		db       []string
		replicas int
	}
	setups := []setup{{"sqlite, 1 replica", nil, 1}}
	if url != "" {
		setups = append(setups, setup{"postgres, 1 replica", nil, 1}, setup{"postgres, 2 replicas", nil, 2})
	}
	var rows []string
	for _, su := range setups {
		if strings.HasPrefix(su.name, "postgres") {
			su.db = append(postgresSchema(t, url), "CALLSCOPE_SECRET_KEY="+strings.Repeat("7b", 32))
		}
		rows = append(rows, su.name+" | "+measure(t, su.db, su.replicas))
	}
	fmt.Println("setup | results/s (p50, p99) | GET /active/s (p50, p99) | pipeline calls/s")
	for _, r := range rows {
		fmt.Println(r)
	}
}

func measure(t *testing.T, db []string, replicas int) string {
	env := append([]string{"CALLSCOPE_RATE_LIMIT_GET=0", "CALLSCOPE_RATE_LIMIT_POST=0", "CALLSCOPE_STT_ENGINE=none",
		"CALLSCOPE_SHUTDOWN_DELAY=0s"}, db...)
	dir := t.TempDir()
	var srvs []*server
	for i := range replicas {
		d := dir
		if i > 0 {
			d = t.TempDir()
		}
		srvs = append(srvs, startServer(t, d, env...))
	}
	key := srvs[0].adminKey
	client := &http.Client{Timeout: 30 * time.Second}
	req := func(i int, method, path string, body []byte, hdr ...string) (int, []byte) {
		r, _ := http.NewRequest(method, "http://"+srvs[i%len(srvs)].addr+path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("Content-Type", "application/json")
		for k := 0; k+1 < len(hdr); k += 2 {
			r.Header.Set(hdr[k], hdr[k+1])
		}
		res, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	// The default tenant takes results with a secret.
	_, b := req(0, "GET", "/api/v1/tenants", nil)
	var ts struct {
		Tenants []struct{ ID, Name string }
	}
	_ = json.Unmarshal(b, &ts)
	const secret = "figures-results-secret-0123456789"
	if code, b := req(0, "PATCH", "/api/v1/tenants/"+ts.Tenants[0].ID, fmt.Appendf(nil, `{"results_secret": %q}`, secret)); code != 200 {
		t.Fatalf("results secret: %d %s", code, b)
	}

	// load runs 32 clients for d and returns requests per second and the
	// latency percentiles; fn makes client c's n-th request.
	load := func(d time.Duration, fn func(c, n int) int) string {
		var mu sync.Mutex
		var lat []time.Duration
		var bad atomic.Int64
		end := time.Now().Add(d)
		var wg sync.WaitGroup
		for c := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for n := 0; time.Now().Before(end); n++ {
					t0 := time.Now()
					if code := fn(c, n); code/100 != 2 {
						bad.Add(1)
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if n := bad.Load(); n > 0 {
			t.Errorf("%d requests refused", n)
		}
		slices.Sort(lat)
		p := func(q float64) float64 {
			return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
		}
		return fmt.Sprintf("%.0f (%.1f ms, %.1f ms)", float64(len(lat))/d.Seconds(), p(0.5), p(0.99))
	}
	results := load(10*time.Second, func(c, n int) int {
		body := strings.Replace(figuresResults, "SESSION", fmt.Sprintf("fig-%d-%d", c, n), 1)
		code, _ := req(c, "POST", "/api/v1/call-results", []byte(body), "X-CXBCore-Secret", secret)
		return code
	})
	// The results' events fan out after they are answered: the next
	// measure starts once that is done.
	watch := chaosStore(t, context.Background(), dir, db)
	drainStart := time.Now()
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if st := chaosCheck(t, context.Background(), watch); st.undispatched == 0 && st.unfinishedJobs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the results' events were not dispatched within 10 minutes")
		}
	}
	drained := time.Since(drainStart)
	watch.Close()
	for i := range 100 {
		if code, b := req(i, "POST", "/api/v1/calls", fmt.Appendf(nil, `{"call_id": "active-%d", "from": "+254711000111"}`, i)); code != 201 {
			t.Fatalf("active call: %d %s", code, b)
		}
	}
	active := load(5*time.Second, func(c, n int) int {
		code, _ := req(c, "GET", "/api/v1/calls/active", nil)
		return code
	})

	// The pipeline: 300 calls with transcripts, all queued, then timed
	// until the last is processed.
	segs := []byte(chaosSegments())
	const n = 300
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				id := fmt.Sprintf("pipe-%03d", i)
				req(i, "POST", "/api/v1/calls", fmt.Appendf(nil, `{"call_id": %q}`, id))
				req(i, "POST", "/api/v1/calls/"+id+"/segments", segs)
			}
		}()
	}
	wg.Wait()
	start := time.Now()
	for i := range n {
		if code, b := req(i, "POST", "/api/v1/process", fmt.Appendf(nil, `{"call_id": "pipe-%03d", "tenant_id": "default"}`, i)); code != 202 {
			t.Fatalf("process: %d %s", code, b)
		}
	}
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		_, b := req(0, "GET", "/api/v1/calls/processing/status", nil)
		var st struct {
			Counts map[string]int `json:"status_counts"`
		}
		_ = json.Unmarshal(b, &st)
		if st.Counts["completed"]+st.Counts["failed"] >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline not done: %s", b)
		}
	}
	pipeline := fmt.Sprintf("%.1f", n/time.Since(start).Seconds())
	for _, s := range srvs {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return fmt.Sprintf("%s, fan-out drained %.1f s later | %s | %s", results, drained.Seconds(), active, pipeline)
}
