package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// TestBackupWhileServing backs up the database of a running server while 8
// clients create calls, restores the backup into a fresh data directory,
// and reads back every call whose creation was answered before the backup
// started. Restoring over the running server's database is refused.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	env := []string{"CALLSCOPE_DATA_DIR=" + dir}

	var (
		mu       sync.Mutex
		answered []string // call ids, in the order their 201 arrived
		failures atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("bk-%d-%d", w, i)
				req, _ := http.NewRequest("POST", "http://"+srv.addr+"/api/v1/calls", strings.NewReader(`{"call_id":"`+id+`","from":"+254700000000"}`))
				req.Header.Set("X-API-Key", srv.adminKey)
				res, err := client.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				res.Body.Close()
				if res.StatusCode != 201 {
					failures.Add(1)
					continue
				}
				mu.Lock()
				answered = append(answered, id)
				mu.Unlock()
			}
		}(w)
	}
	waitFor := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got := len(answered)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d calls created", got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(200)
	mu.Lock()
	before := append([]string(nil), answered...)
	mu.Unlock()
	backup := filepath.Join(t.TempDir(), "callscope-backup.db")
	out, errOut, code := cli(t, env, "backup", backup)
	mu.Lock()
	during := len(answered) - len(before)
	mu.Unlock()
	waitFor(len(before) + during + 50) // writers carried on after the backup
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	if failures.Load() > 0 {
		t.Fatalf("%d creations failed while the backup ran", failures.Load())
	}
	t.Logf("backup: %s(%d calls answered before it started, %d while it ran)", out, len(before), during)

	if _, errOut, code := cli(t, env, "backup", backup); code == 0 || !strings.Contains(errOut, "exists") {
		t.Errorf("backup over an existing file: exit %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, env, "restore", backup); code == 0 || !strings.Contains(errOut, "stop it first") {
		t.Errorf("restore over the running server's database: exit %d %s", code, errOut)
	}

	fresh := t.TempDir()
	out, errOut, code = cli(t, []string{"CALLSCOPE_DATA_DIR=" + fresh}, "restore", backup)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: fresh})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tenant, err := st.TenantByName(ctx, callscope.DefaultTenantName)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range before {
		if _, err := st.Call(ctx, tenant.ID, id); err != nil {
			t.Fatalf("call %s, answered before the backup started, is not in the restored copy: %v", id, err)
		}
	}
	n, err := st.CountCalls(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n < len(before) || n > len(before)+during {
		t.Errorf("restored copy holds %d calls, want between %d and %d", n, len(before), len(before)+during)
	}

	// Restoring again over a stopped database keeps the old one.
	out, errOut, code = cli(t, []string{"CALLSCOPE_DATA_DIR=" + fresh}, "restore", backup)
	if code != 0 || !strings.Contains(out, "before-restore") {
		t.Fatalf("second restore: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(fresh, "callscope.db")); err != nil {
		t.Fatal(err)
	}
}

// TestBackupPostgresAdvice: for PostgreSQL, backup says to use pg_dump.
func TestBackupPostgresAdvice(t *testing.T) {
	_, errOut, code := cli(t, []string{"CALLSCOPE_DATABASE_URL=postgres://u@127.0.0.1:1/x", "CALLSCOPE_SECRET_KEY=" + strings.Repeat("ab", 32)}, "backup", "x.db")
	if code == 0 || !strings.Contains(errOut, "pg_dump --format=custom") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// TestEraseCommand erases a call with the command while a server runs on
// the same database, and reads the audit log back.
func TestEraseCommand(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	env := []string{"CALLSCOPE_DATA_DIR=" + dir}
	do := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+srv.addr+path, strings.NewReader(body))
		req.Header.Set("X-API-Key", srv.adminKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := do("POST", "/api/v1/calls", `{"call_id":"erase-me"}`); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if _, errOut, code := cli(t, env, "erase", "erase-me"); code != 1 || !strings.Contains(errOut, "end it before") {
		t.Fatalf("erase of a live call: exit %d %s", code, errOut)
	}
	if code := do("POST", "/api/v1/calls/erase-me/end", ""); code != 200 {
		t.Fatalf("end: %d", code)
	}
	out, errOut, code := cli(t, env, "erase", "--reason", "test", "erase-me")
	if code != 0 || !strings.Contains(out, `"actor": "cli:`) {
		t.Fatalf("erase: exit %d\n%s%s", code, out, errOut)
	}
	if code := do("GET", "/api/v1/calls/erase-me", ""); code != 404 {
		t.Fatalf("GET after erase: %d", code)
	}
	if _, _, code := cli(t, env, "erase", "erase-me"); code != 1 {
		t.Fatalf("second erase: exit %d", code)
	}
	out, _, code = cli(t, env, "deletions")
	if code != 0 || strings.Count(out, `"actor"`) != 1 || !strings.Contains(out, `"reason": "test"`) {
		t.Fatalf("deletions: exit %d\n%s", code, out)
	}
}
