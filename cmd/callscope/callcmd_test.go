package main

import (
	"strings"
	"testing"
	"time"
)

// TestCallCommand schedules, lists, reads and cancels calls with `callscope
// call` against a running server.
func TestCallCommand(t *testing.T) {
	srv := startServer(t, t.TempDir(), "CALLSCOPE_SHUTDOWN_DELAY=0s")
	env := []string{"CALLSCOPE_URL=http://" + srv.addr, "CALLSCOPE_API_KEY=" + srv.adminKey}
	out, errOut, code := cli(t, env, "call", "schedule", "--user", "ops", "--to", "+14155550107", "--name", "Ann", "--title", "Check-in")
	if code != 0 {
		t.Fatalf("schedule: exit %d: %s%s", code, out, errOut)
	}
	now := strings.Fields(out)[0]
	out, errOut, code = cli(t, env, "call", "schedule", "--user", "ops", "--to", "+14155550101", "--name", "Bo", "--title", "Later", "--at", "+2h")
	if code != 0 {
		t.Fatalf("schedule later: exit %d: %s%s", code, out, errOut)
	}
	later := strings.Fields(out)[0]
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, _ = cli(t, env, "call", "status", "--user", "ops", now)
		if strings.Contains(out, `"status": "failed"`) && strings.Contains(out, `"errorInfo": "busy"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call to a number ending in 7 did not end busy: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, errOut, code = cli(t, env, "call", "cancel", "--user", "ops", later); code != 0 || !strings.Contains(out, "Call cancelled successfully") {
		t.Fatalf("cancel: exit %d: %s%s", code, out, errOut)
	}
	if out, errOut, code = cli(t, env, "call", "cancel", "--user", "ops", later); code == 0 || !strings.Contains(errOut, "409") {
		t.Fatalf("cancel twice: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = cli(t, env, "call", "list", "--user", "ops")
	if code != 0 || !strings.Contains(out, now) || !strings.Contains(out, later) || !strings.Contains(out, "2 of 2 calls") {
		t.Fatalf("list: exit %d: %s%s", code, out, errOut)
	}
	if _, errOut, code = cli(t, env, "call", "list"); code != 2 || !strings.Contains(errOut, "--user") {
		t.Fatalf("list without --user: exit %d: %s", code, errOut)
	}
}
