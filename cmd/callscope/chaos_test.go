package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// chaosEnv turns the chaos test on (make chaos sets it): it takes minutes.
const chaosEnv = "CALLSCOPE_CHAOS"

// TestChaos kills `callscope serve` with SIGKILL at random moments, five
// times, while 300 calls go through the post-call pipeline and their events
// go out as webhooks to a receiver in the test, restarting it each time. It
// checks that nothing is lost or done twice: every call's processing
// completes, with exactly one completion event; every event reaches the
// receiver; a message arrives more than once only as a retry with the same
// webhook-id and the same body. It prints how long after the last restart
// everything was done, and fails if that took over a minute. It runs on SQLite, and on PostgreSQL too when
// CALLSCOPE_TEST_DATABASE_URL is set.
func TestChaos(t *testing.T) {
	if os.Getenv(chaosEnv) == "" {
		t.Skipf("set %s=1 (make chaos) to run the chaos test", chaosEnv)
	}
	t.Run("sqlite", func(t *testing.T) { runChaos(t, nil) })
	if u := os.Getenv("CALLSCOPE_TEST_DATABASE_URL"); u != "" {
		t.Run("postgres", func(t *testing.T) { runChaos(t, postgresSchema(t, u)) })
	}
}

const (
	chaosCalls = 300
	chaosKills = 5
)

// chaosReceiver is a webhook endpoint that records every message it is
// sent.
type chaosReceiver struct {
	mu       sync.Mutex
	bodies   map[string][]byte          // webhook-id → first body
	ids      map[string]map[string]bool // type/call → webhook-ids
	requests int
	dupes    int // same id, same body: retries
	conflict []string
}

func newChaosReceiver() *chaosReceiver {
	return &chaosReceiver{bodies: map[string][]byte{}, ids: map[string]map[string]bool{}}
}

func (rc *chaosReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	var msg struct {
		Type string `json:"type"`
		Data struct {
			CallID string `json:"call_id"`
		} `json:"data"`
	}
	json.Unmarshal(b, &msg)
	id := r.Header.Get("webhook-id")
	// A receiver that takes its time keeps deliveries in flight when the
	// server is killed.
	time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if prev, ok := rc.bodies[id]; ok {
		if bytes.Equal(prev, b) {
			rc.dupes++
		} else {
			rc.conflict = append(rc.conflict, fmt.Sprintf("%s: %s then %s", id, prev, b))
		}
	} else {
		rc.bodies[id] = b
	}
	key := msg.Type + "/" + msg.Data.CallID
	if rc.ids[key] == nil {
		rc.ids[key] = map[string]bool{}
	}
	rc.ids[key][id] = true
	w.WriteHeader(http.StatusNoContent)
}

// delivered counts the distinct messages received of a type.
func (rc *chaosReceiver) delivered(typ string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for key := range rc.ids {
		if strings.HasPrefix(key, typ+"/") {
			n++
		}
	}
	return n
}

// postgresSchema makes a schema for one run and returns the database URL
// that puts callscope in it.
func postgresSchema(t *testing.T, base string) []string {
	t.Helper()
	ctx := context.Background()
	schema := "chaos_" + strings.ReplaceAll(callscope.NewID(), "-", "")
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return []string{"CALLSCOPE_DATABASE_URL=" + u.String()}
}

func runChaos(t *testing.T, dbEnv []string) {
	ctx := context.Background()
	rec := newChaosReceiver()
	hook := httptest.NewServer(rec)
	defer hook.Close()

	dir := t.TempDir()
	// The default settings, except what a test on one machine needs.
	env := append([]string{"CALLSCOPE_ALLOW_PRIVATE_URLS=true", "CALLSCOPE_SHUTDOWN_DELAY=0s"}, dbEnv...)
	srv := startServer(t, dir, env...)
	key := srv.adminKey
	if key == "" {
		t.Fatal("no admin key printed on first start")
	}
	var (
		mu  sync.Mutex
		cur = srv
	)
	current := func() *server {
		mu.Lock()
		defer mu.Unlock()
		return cur
	}
	client := &http.Client{Timeout: 10 * time.Second}
	// call retries a request until a server answers it: requests in flight
	// when the server dies get no answer.
	call := func(method, path, body string) (int, []byte) {
		for {
			req, _ := http.NewRequest(method, "http://"+current().addr+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			res, err := client.Do(req)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return res.StatusCode, b
		}
	}
	db := chaosStore(t, ctx, dir, dbEnv)
	defer db.Close()
	if code, b := call("POST", "/api/v1/webhooks", fmt.Sprintf(`{"url": %q, "event_types": [%q, %q]}`,
		hook.URL+"/hook", callscope.EventCallCreated, callscope.EventAnalysisCompleted)); code != 201 {
		t.Fatalf("create webhook: %d %s", code, b)
	}

	// Clients send the calls, their transcripts and processing requests
	// while the server is being killed; each request is retried until
	// answered, as a client with retries would.
	segs := chaosSegments()
	fed := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		work := make(chan int)
		errs := make(chan error, chaosCalls)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					id := fmt.Sprintf("chaos-%04d", i)
					if code, b := call("POST", "/api/v1/calls", fmt.Sprintf(`{"call_id": %q, "from": "+254711000111", "to": "116"}`, id)); code != 201 && code != 409 {
						errs <- fmt.Errorf("create %s: %d %s", id, code, b)
						continue
					}
					if code, b := call("POST", "/api/v1/calls/"+id+"/segments", segs); code != 200 {
						errs <- fmt.Errorf("segments %s: %d %s", id, code, b)
						continue
					}
					if code, b := call("POST", "/api/v1/process", fmt.Sprintf(`{"call_id": %q, "tenant_id": "default"}`, id)); code != 202 {
						errs <- fmt.Errorf("process %s: %d %s", id, code, b)
					}
				}
			}()
		}
		for i := 0; i < chaosCalls; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		close(errs)
		var all []string
		for err := range errs {
			all = append(all, err.Error())
		}
		if len(all) > 0 {
			fed <- fmt.Errorf("%d requests failed: %s", len(all), strings.Join(all[:min(5, len(all))], "; "))
			return
		}
		fed <- nil
	}()

	// The kills fall at random points of the processing: each once a
	// random number of calls (in order) is done, and a random moment after.
	marks := make([]int, chaosKills)
	for i := range marks {
		marks[i] = 10 + rand.IntN(chaosCalls-20)
	}
	slices.Sort(marks)
	var lastRestart time.Time
	for k, mark := range marks {
		waitUntil := time.Now().Add(5 * time.Minute)
		for chaosCheck(t, ctx, db).completed < mark {
			if time.Now().After(waitUntil) {
				t.Fatalf("kill %d: %d calls never completed", k+1, mark)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(500)) * time.Millisecond)
		s := current()
		done := chaosCheck(t, ctx, db).completed
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-s.exited
		next := startServer(t, dir, env...)
		lastRestart = time.Now()
		mu.Lock()
		cur = next
		mu.Unlock()
		t.Logf("kill %d: at %d of %d calls done, %d completion webhooks received", k+1,
			done, chaosCalls, rec.delivered(callscope.EventAnalysisCompleted))
	}
	if err := <-fed; err != nil {
		t.Fatal(err)
	}

	// Wait until nothing is left: every call processed, every job
	// finished, every event dispatched and delivered.
	deadline := time.Now().Add(10 * time.Minute)
	var st chaosState
	for {
		st = chaosCheck(t, ctx, db)
		if st.completed == chaosCalls && st.unfinishedJobs == 0 && st.undispatched == 0 &&
			rec.delivered(callscope.EventCallCreated) == chaosCalls && rec.delivered(callscope.EventAnalysisCompleted) == chaosCalls {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 minutes after the last restart: %+v; webhooks received: %d call.created, %d analysis.completed",
				st, rec.delivered(callscope.EventCallCreated), rec.delivered(callscope.EventAnalysisCompleted))
		}
		time.Sleep(100 * time.Millisecond)
	}
	settled := time.Since(lastRestart)
	s := current()
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.exited
	st = chaosCheck(t, ctx, db)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, c := range rec.conflict {
		t.Errorf("one webhook-id, two bodies: %s", c)
	}
	for key, ids := range rec.ids {
		if len(ids) != 1 {
			t.Errorf("%s delivered under %d webhook ids", key, len(ids))
		}
	}
	if st.completionEvents != chaosCalls || st.callsWithOneCompletion != chaosCalls {
		t.Errorf("%d completion events for %d calls, %d calls with exactly one; want %d each",
			st.completionEvents, chaosCalls, st.callsWithOneCompletion, chaosCalls)
	}
	// Jobs held by a killed server are taken back once its lease runs out
	// (15 s by default); before, they waited PROCESSING_TIMEOUT_SECONDS
	// plus a minute.
	if settled > time.Minute {
		t.Errorf("everything was done %.1fs after the last restart, want under 60s", settled.Seconds())
	}
	if st.failedCalls != 0 {
		t.Errorf("%d calls failed processing", st.failedCalls)
	}
	fmt.Printf("chaos %s: jobs taken back by kind: %s\n", map[bool]string{true: "postgres", false: "sqlite"}[dbEnv != nil], rescuedKinds(t, ctx, db))
	fmt.Printf("chaos %s: %d calls, %d kills; all done %.1fs after the last restart; "+
		"%d webhook requests for %d messages (%d same-id retries); %d jobs taken back from killed processes; "+
		"%d calls' processing finished by a later run\n",
		map[bool]string{true: "postgres", false: "sqlite"}[dbEnv != nil], chaosCalls, chaosKills, settled.Seconds(),
		rec.requests, len(rec.bodies), rec.dupes, st.rescued, st.resumed)
}

// chaosState is what the database says of a chaos run.
type chaosState struct {
	completed, failedCalls       int
	completionEvents             int
	callsWithOneCompletion       int
	unfinishedJobs, undispatched int
	rescued, resumed             int
}

// chaosStore opens the run's database, beside the server, to watch it.
func chaosStore(t *testing.T, ctx context.Context, dir string, dbEnv []string) *sqlstore.Store {
	t.Helper()
	cfg := sqlstore.Config{DataDir: dir}
	if dbEnv != nil {
		cfg = sqlstore.Config{URL: strings.TrimPrefix(dbEnv[0], "CALLSCOPE_DATABASE_URL="), MaxConns: 2}
	}
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// chaosCheck reads the state of a run from the database.
func chaosCheck(t *testing.T, ctx context.Context, s *sqlstore.Store) chaosState {
	t.Helper()
	var st chaosState
	queries := []struct {
		q   string
		dst *int
	}{
		{`SELECT count(*) FROM processing WHERE status = 'completed'`, &st.completed},
		{`SELECT count(*) FROM processing WHERE status = 'failed'`, &st.failedCalls},
		{`SELECT count(*) FROM events WHERE type = 'analysis.completed'`, &st.completionEvents},
		{`SELECT count(*) FROM (SELECT call_id FROM events WHERE type = 'analysis.completed' GROUP BY call_id HAVING count(*) = 1) AS one`, &st.callsWithOneCompletion},
		{`SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`, &st.unfinishedJobs},
		{`SELECT count(*) FROM events WHERE dispatched_at IS NULL`, &st.undispatched},
		{`SELECT count(*) FROM processing WHERE attempts > 1`, &st.resumed},
		{`SELECT count(*) FROM river_job WHERE errors IS NOT NULL AND ERRORS LIKE '%stopped sending heartbeats%'`, &st.rescued},
	}
	errorsText := "json(errors)"
	if s.Dialect() == sqlstore.Postgres {
		errorsText = "CAST(errors AS TEXT)"
	}
	queries[len(queries)-1].q = strings.Replace(queries[len(queries)-1].q, "ERRORS", errorsText, 1)
	for _, q := range queries {
		var err error
		if s.Dialect() == sqlstore.Postgres {
			err = s.Pool().QueryRow(ctx, q.q).Scan(q.dst)
		} else {
			err = s.SQLDB().QueryRowContext(ctx, q.q).Scan(q.dst)
		}
		if err != nil {
			t.Fatalf("%s: %v", q.q, err)
		}
	}
	return st
}

// chaosSegments is a short helpline conversation, enough for every stage
// of the pipeline to run.
func chaosSegments() string {
	lines := []struct{ speaker, text string }{
		{"agent", "Good morning, you are through to the child helpline 116. My name is Grace, how can I help you?"},
		{"caller", "Hello, my name is Wanjiru. I am calling about my neighbour's girl, she is nine years old and they beat her every day."},
		{"agent", "I am sorry to hear that. Where do you live?"},
		{"caller", "We live in Kibera, near the chief's camp. My number is 0712 345 678."},
		{"agent", "Thank you Wanjiru. I will call you back tomorrow and we will send a children's officer on Monday."},
		{"caller", "Thank you so much. Goodbye."},
	}
	var segs []map[string]any
	for i, l := range lines {
		segs = append(segs, map[string]any{"segment_id": i + 1, "speaker": l.speaker, "start_time": float64(i * 5),
			"end_time": float64(i*5 + 4), "text": l.text, "confidence": 0.9})
	}
	b, _ := json.Marshal(map[string]any{"segments": segs})
	return string(b)
}

// rescuedKinds counts the jobs taken back from killed processes, by kind.
func rescuedKinds(t *testing.T, ctx context.Context, s *sqlstore.Store) string {
	t.Helper()
	q := `SELECT kind, count(*) FROM river_job WHERE json(errors) LIKE '%stopped sending heartbeats%' GROUP BY kind ORDER BY kind`
	var out []string
	if s.Dialect() == sqlstore.Postgres {
		q = strings.Replace(q, "json(errors)", "CAST(errors AS TEXT)", 1)
		rows, err := s.Pool().Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var kind string
			var n int
			if err := rows.Scan(&kind, &n); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %d", kind, n))
		}
		return strings.Join(out, ", ")
	}
	rows, err := s.SQLDB().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %d", kind, n))
	}
	return strings.Join(out, ", ")
}
