package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// restartCalls is how many calls TestOutboundRestart schedules.
const restartCalls = 200

// TestOutboundRestart schedules 200 calls due over the next minute, then
// kills `callscope serve` with SIGKILL twice while they come due,
// restarting it each time. Every call must be placed exactly once (one
// placing attempt, one end), none before its scheduled time, none lost (all
// end). It is part of the chaos tests (make chaos): it takes minutes.
func TestOutboundRestart(t *testing.T) {
	if os.Getenv(chaosEnv) == "" {
		t.Skipf("set %s=1 (make chaos) to run the outbound restart test", chaosEnv)
	}
	t.Run("sqlite", func(t *testing.T) { runOutboundRestart(t, nil) })
	if u := os.Getenv("CALLSCOPE_TEST_DATABASE_URL"); u != "" {
		t.Run("postgres", func(t *testing.T) { runOutboundRestart(t, postgresSchema(t, u)) })
	}
}

func runOutboundRestart(t *testing.T, dbEnv []string) {
	ctx := context.Background()
	dir := t.TempDir()
	env := append([]string{"CALLSCOPE_SHUTDOWN_DELAY=0s",
		"CALLSCOPE_SECRET_KEY=" + base64.StdEncoding.EncodeToString(callscope.RandomBytes(32))}, dbEnv...)
	srv := startServer(t, dir, env...)
	key := srv.adminKey
	var mu sync.Mutex
	cur := srv
	current := func() *server {
		mu.Lock()
		defer mu.Unlock()
		return cur
	}
	client := &http.Client{Timeout: 10 * time.Second}
	// Requests are retried until answered; the Idempotency-Key makes a
	// retried schedule answer the first answer instead of a second call.
	post := func(path, body, idem string) (int, []byte) {
		for {
			req, _ := http.NewRequest("POST", "http://"+current().addr+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Idempotency-Key", idem)
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
	// Enough lines that only the restarts, not the limit, can delay a call.
	req, _ := http.NewRequest("GET", "http://"+current().addr+"/api/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tenants struct {
		Tenants []struct{ ID, Name string } `json:"tenants"`
	}
	json.NewDecoder(res.Body).Decode(&tenants)
	res.Body.Close()
	if len(tenants.Tenants) != 1 {
		t.Fatalf("tenants: %+v", tenants)
	}
	req, _ = http.NewRequest("PATCH", "http://"+current().addr+"/api/v1/tenants/"+tenants.Tenants[0].ID,
		strings.NewReader(`{"settings":{"autocaller":{"max_concurrent_calls":100}}}`))
	req.Header.Set("Authorization", "Bearer "+key)
	if res, err = client.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("set lines: %v %v", err, res.Status)
	}
	res.Body.Close()
	start := time.Now().UTC().Truncate(time.Second).Add(10 * time.Second)
	for i := 0; i < restartCalls; i++ {
		due := start.Add(time.Duration(i) * 50 * time.Second / restartCalls)
		outcome := []string{"answer", "busy", "no-answer", "voicemail", "failed"}[i%5]
		body := fmt.Sprintf(`{"userId":"u%d","title":"restart %d","contactName":"C %d","contactPhone":"+1415555%04d","scheduledTime":%q,`+
			`"simulate":{"outcome":%q,"ringSeconds":1,"talkSeconds":3}}`, i%7, i, i, i, due.Format(time.RFC3339Nano), outcome)
		if code, b := post("/autocaller/calls/schedule", body, fmt.Sprintf("restart-%d", i)); code != 201 {
			t.Fatalf("schedule %d: %d %s", i, code, b)
		}
	}
	t.Logf("scheduled %d calls due from %s over 50 s", restartCalls, start.Format(time.TimeOnly))
	db := chaosStore(t, ctx, dir, dbEnv)
	defer db.Close()
	for k, at := range []time.Duration{15 * time.Second, 35 * time.Second} {
		time.Sleep(time.Until(start.Add(at)))
		s := current()
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-s.exited
		placed := outboundCount(t, ctx, db, `SELECT count(*) FROM outbound_calls WHERE placed_at IS NOT NULL`)
		next := startServer(t, dir, env...)
		mu.Lock()
		cur = next
		mu.Unlock()
		t.Logf("kill %d at +%s: %d calls placed", k+1, at, placed)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		open := outboundCount(t, ctx, db, `SELECT count(*) FROM calls WHERE status IN ('scheduled', 'initiating', 'ringing', 'in_progress', 'ending')`)
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls not over 5 minutes after the last restart", open)
		}
		time.Sleep(200 * time.Millisecond)
	}
	done := time.Since(start.Add(50 * time.Second))
	s := current()
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.exited

	checks := []struct {
		what string
		q    string
		want int
	}{
		{"calls", `SELECT count(*) FROM outbound_calls`, restartCalls},
		{"calls placed once", `SELECT count(*) FROM outbound_calls WHERE attempts = 1 AND placed_at IS NOT NULL`, restartCalls},
		{"calls placed before their time", `SELECT count(*) FROM outbound_calls o JOIN calls c ON c.id = o.call_id WHERE o.placed_at < c.scheduled_at`, 0},
		{"calls with one end event", `SELECT count(*) FROM (SELECT call_id FROM events WHERE type IN ('call.completed', 'call.failed')
			GROUP BY call_id HAVING count(*) = 1) AS one`, restartCalls},
		{"lines still held", `SELECT count(*) FROM outbound_lines`, 0},
	}
	for _, c := range checks {
		if got := outboundCount(t, ctx, db, c.q); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
	late := outboundCount(t, ctx, db, `SELECT count(*) FROM outbound_calls o JOIN calls c ON c.id = o.call_id
		WHERE o.placed_at > c.scheduled_at + INTERVAL_2S`)
	veryLate := outboundCount(t, ctx, db, `SELECT count(*) FROM outbound_calls o JOIN calls c ON c.id = o.call_id
		WHERE o.placed_at > c.scheduled_at + INTERVAL_20S`)
	cut := outboundCount(t, ctx, db, `SELECT count(*) FROM calls WHERE error_info = 'not answered in time' OR disconnected_by = 'system'`)
	fmt.Printf("outbound restart %s: %d calls, 2 kills; all over %.1fs after the last was due; %d placed more than 2 s late, %d more than 20 s; %d ended by the watchdog after a kill\n",
		map[bool]string{true: "postgres", false: "sqlite"}[dbEnv != nil], restartCalls, done.Seconds(), late, veryLate, cut)
}

// outboundCount runs a count query on the run's database.
func outboundCount(t *testing.T, ctx context.Context, s *sqlstore.Store, q string) int {
	t.Helper()
	for _, n := range []string{"2", "20"} {
		if s.Dialect() == sqlstore.Postgres {
			q = strings.ReplaceAll(q, "+ INTERVAL_"+n+"S", "+ INTERVAL '"+n+" seconds'")
		} else {
			q = strings.ReplaceAll(q, "c.scheduled_at + INTERVAL_"+n+"S", "strftime('%Y-%m-%d %H:%M:%f', c.scheduled_at, '+"+n+" seconds')")
		}
	}
	var n int
	var err error
	if s.Dialect() == sqlstore.Postgres {
		err = s.Pool().QueryRow(ctx, q).Scan(&n)
	} else {
		err = s.SQLDB().QueryRowContext(ctx, q).Scan(&n)
	}
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
