package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/callscope/callscope"
)

// replicasEnv turns the replica test on (make replicas sets it): it takes
// minutes.
const replicasEnv = "CALLSCOPE_REPLICAS"

// TestReplicas runs two `callscope serve` processes on one PostgreSQL and
// one S3 store while clients spread 1,000 calls (transcripts, processing
// requests, some recordings) across both, and SIGKILLs replica A when 40 %
// of the calls are processed. It checks that every call is processed
// exactly once (one analysis.completed event each), with work done by both
// replicas and A's unfinished work finished by B; that every webhook
// message arrives under one id (a repeat only as a retry of the same
// body); and that both replicas (A restarted) answer every GET the same.
func TestReplicas(t *testing.T) {
	if os.Getenv(replicasEnv) == "" {
		t.Skipf("set %s=1 (make replicas) to run the replica test", replicasEnv)
	}
	url := os.Getenv("CALLSCOPE_TEST_DATABASE_URL")
	if url == "" {
		t.Fatal("replicas need PostgreSQL: set CALLSCOPE_TEST_DATABASE_URL")
	}
	const calls = 1000
	ctx := context.Background()
	rec := newChaosReceiver()
	hook := httptest.NewServer(rec)
	defer hook.Close()

	backend := s3mem.New()
	if err := backend.CreateBucket("recs"); err != nil {
		t.Fatal(err)
	}
	s3 := httptest.NewTLSServer(gofakes3.New(backend).Server())
	defer s3.Close()
	certFile := filepath.Join(t.TempDir(), "s3.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s3.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	db := postgresSchema(t, url)
	env := append([]string{"CALLSCOPE_ALLOW_PRIVATE_URLS=true", "CALLSCOPE_SHUTDOWN_DELAY=0s", "CALLSCOPE_STT_ENGINE=none",
		"CALLSCOPE_SECRET_KEY=" + strings.Repeat("5a", 32), "SSL_CERT_FILE=" + certFile,
		"CALLSCOPE_RECORDINGS_STORE=s3", "CALLSCOPE_S3_ENDPOINT=" + strings.TrimPrefix(s3.URL, "https://"),
		"CALLSCOPE_S3_USE_SSL=true", "CALLSCOPE_S3_BUCKET=recs", "CALLSCOPE_S3_ACCESS_KEY=callscope",
		"CALLSCOPE_S3_SECRET_KEY=callscope-secret", "CALLSCOPE_S3_REGION=us-east-1"}, db...)
	a := startServer(t, t.TempDir(), env...)
	b := startServer(t, t.TempDir(), env...)
	key := a.adminKey
	ids := map[string]string{"A": queueClientID(t, a), "B": queueClientID(t, b)}

	var aDead atomic.Bool
	client := &http.Client{Timeout: 10 * time.Second}
	// do sends a request to replica i (0: A, 1: B), or to the other when
	// it does not answer, until one does.
	do := func(i int, method, path, contentType string, body []byte) (int, []byte) {
		for attempt := 0; ; attempt++ {
			s := []*server{a, b}[(i+attempt)%2]
			if s == a && aDead.Load() {
				continue
			}
			req, _ := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(string(body)))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", contentType)
			res, err := client.Do(req)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			out, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return res.StatusCode, out
		}
	}
	if code, body := do(0, "POST", "/api/v1/webhooks", "application/json", fmt.Appendf(nil, `{"url": %q, "event_types": [%q, %q]}`,
		hook.URL+"/hook", callscope.EventCallCreated, callscope.EventAnalysisCompleted)); code != 201 {
		t.Fatalf("create webhook: %d %s", code, body)
	}
	store := chaosStore(t, ctx, "", db)
	defer store.Close()

	segs := []byte(chaosSegments())
	audio := []byte(strings.Repeat("\xff\x7f\x80\x00", 4000)) // half a second of μ-law
	start := time.Now()
	fed := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		work := make(chan int)
		var failed atomic.Int64
		var first atomic.Value
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					id := fmt.Sprintf("rep-%04d", i)
					r := (i + w) % 2 // spread each call's requests over both replicas
					steps := []struct {
						method, path, ct string
						body             []byte
						want             []int
					}{
						{"POST", "/api/v1/calls", "application/json", fmt.Appendf(nil, `{"call_id": %q, "from": "+254711000111", "to": "116"}`, id), []int{201, 409}},
						{"POST", "/api/v1/calls/" + id + "/segments", "application/json", segs, []int{200}},
					}
					if i%20 == 0 {
						steps = append(steps, struct {
							method, path, ct string
							body             []byte
							want             []int
						}{"POST", "/api/v1/calls/" + id + "/recording?format=ulaw", "application/octet-stream", audio, []int{200, 201}})
					}
					steps = append(steps, struct {
						method, path, ct string
						body             []byte
						want             []int
					}{"POST", "/api/v1/process", "application/json", fmt.Appendf(nil, `{"call_id": %q, "tenant_id": "default"}`, id), []int{202}})
					for k, st := range steps {
						code, body := do(r+k, st.method, st.path, st.ct, st.body)
						ok := false
						for _, c := range st.want {
							ok = ok || c == code
						}
						if !ok {
							failed.Add(1)
							first.CompareAndSwap(nil, fmt.Sprintf("%s %s: %d %s", st.method, st.path, code, body))
							break
						}
					}
				}
			}()
		}
		for i := range calls {
			work <- i
		}
		close(work)
		wg.Wait()
		if n := failed.Load(); n > 0 {
			fed <- fmt.Errorf("%d calls' requests failed, first: %v", n, first.Load())
			return
		}
		fed <- nil
	}()

	// A dies when 40 % of the calls are processed.
	for chaosCheck(t, ctx, store).completed < calls*4/10 {
		if time.Since(start) > 10*time.Minute {
			t.Fatal("40 % of the calls were not processed within 10 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	aDead.Store(true)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	killedAt := time.Now()
	doneAtKill := chaosCheck(t, ctx, store).completed
	if err := <-fed; err != nil {
		t.Fatal(err)
	}
	var st chaosState
	for deadline := time.Now().Add(10 * time.Minute); ; {
		st = chaosCheck(t, ctx, store)
		if st.completed == calls && st.unfinishedJobs == 0 && st.undispatched == 0 &&
			rec.delivered(callscope.EventCallCreated) == calls && rec.delivered(callscope.EventAnalysisCompleted) == calls {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not done 10 minutes after the kill: %+v; webhooks: %d call.created, %d analysis.completed",
				st, rec.delivered(callscope.EventCallCreated), rec.delivered(callscope.EventAnalysisCompleted))
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)

	// Who processed what: the last client to attempt each processing job.
	byReplica := map[string]int{}
	rows, err := store.Pool().Query(ctx, `SELECT attempted_by[array_length(attempted_by, 1)] FROM river_job
		WHERE kind = 'call.process' AND state = 'completed'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var by string
		if err := rows.Scan(&by); err != nil {
			t.Fatal(err)
		}
		switch by {
		case ids["A"]:
			byReplica["A"]++
		case ids["B"]:
			byReplica["B"]++
		default:
			byReplica["other"]++
		}
	}
	rows.Close()
	if byReplica["A"] == 0 || byReplica["B"] == 0 {
		t.Errorf("processing jobs finished per replica: %v; want work on both", byReplica)
	}
	if st.completionEvents != calls || st.callsWithOneCompletion != calls || st.failedCalls != 0 {
		t.Errorf("%d completion events, %d calls with exactly one, %d failed; want %d, %d, 0",
			st.completionEvents, st.callsWithOneCompletion, st.failedCalls, calls, calls)
	}
	rec.mu.Lock()
	for _, c := range rec.conflict {
		t.Errorf("one webhook-id, two bodies: %s", c)
	}
	multi := 0
	for _, set := range rec.ids {
		if len(set) != 1 {
			multi++
		}
	}
	if multi > 0 {
		t.Errorf("%d messages delivered under more than one webhook id", multi)
	}
	requests, messages, dupes := rec.requests, len(rec.bodies), rec.dupes
	rec.mu.Unlock()

	// Both replicas answer every read the same (A restarted on the same
	// database and store).
	a = startServer(t, t.TempDir(), env...)
	differ := 0
	get := func(s *server, path string) []byte {
		req, _ := http.NewRequest("GET", "http://"+s.addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return append([]byte(fmt.Sprint(res.StatusCode, " ")), body...)
	}
	paths := []string{"/api/v1/calls/stats", "/api/v1/calls?limit=500", "/api/calls?limit=100"}
	for i := 0; i < calls; i += 7 {
		id := fmt.Sprintf("rep-%04d", i)
		paths = append(paths, "/api/v1/calls/"+id, "/api/v1/calls/"+id+"/segments", "/api/v1/calls/"+id+"/processing",
			"/api/v1/calls/"+id+"/export?format=text")
		if i%20 == 0 {
			paths = append(paths, "/api/calls/"+id+"/recording")
		}
	}
	for _, p := range paths {
		x, y := get(a, p), get(b, p)
		if sha256.Sum256(x) != sha256.Sum256(y) {
			differ++
			if differ <= 3 {
				t.Errorf("GET %s differs between replicas:\nA: %.300s\nB: %.300s", p, x, y)
			}
		}
	}
	var recsInS3 int
	if list, err := backend.ListBucket("recs", nil, gofakes3.ListBucketPage{}); err == nil {
		recsInS3 = len(list.Contents)
	}
	summary := map[string]any{"calls": calls, "processed_by_A": byReplica["A"], "processed_by_B": byReplica["B"],
		"completion_events": st.completionEvents, "calls_with_one_completion": st.callsWithOneCompletion,
		"done_at_kill": doneAtKill, "jobs_taken_back_from_A": st.rescued, "finished_after_kill_s": time.Since(killedAt).Seconds(),
		"total_s": took.Seconds(), "webhook_requests": requests, "webhook_messages": messages, "same_id_retries": dupes,
		"gets_compared": len(paths), "gets_differing": differ, "recordings_in_s3": recsInS3}
	out, _ := json.Marshal(summary)
	fmt.Printf("replicas: %s\n", out)
}

var clientIDRe = regexp.MustCompile(`"queue_client_id":"([^"]+)"`)

// queueClientID is the queue client id a server logged when it started.
func queueClientID(t *testing.T, s *server) string {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := clientIDRe.FindStringSubmatch(s.stderr.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no queue_client_id in the server's log:\n%s", s.stderr)
	return ""
}
