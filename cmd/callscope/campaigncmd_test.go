package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCampaignCommand creates a campaign from a CSV file with `callscope
// campaign` against a running server, and follows it to its end: every
// number ends in 7, which the simulator answers busy, and busy is redialled
// once, so each contact gets two calls.
func TestCampaignCommand(t *testing.T) {
	srv := startServer(t, t.TempDir(), "CALLSCOPE_SHUTDOWN_DELAY=0s")
	env := []string{"CALLSCOPE_URL=http://" + srv.addr, "CALLSCOPE_API_KEY=" + srv.adminKey}
	file := filepath.Join(t.TempDir(), "spring.csv")
	csv := "phone,name,time_zone,plan\n+14155550107,Ann,America/New_York,gold\n+14155550117,Bo,,silver\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, env, "campaign", "create", "--contacts", file, "--concurrency", "1", "--redial", "busy=0s*2",
		"--script", "Hello {{contactName}}, about your {{plan}} plan.")
	if code != 0 || !strings.Contains(out, "2 contacts") {
		t.Fatalf("create: exit %d: %s%s", code, out, errOut)
	}
	id := strings.Fields(out)[0]
	deadline := time.Now().Add(45 * time.Second)
	for {
		out, errOut, code = cli(t, env, "campaign", "status", id)
		if code != 0 {
			t.Fatalf("status: exit %d: %s%s", code, out, errOut)
		}
		if strings.Contains(out, "completed") && strings.Contains(out, "attempts 4") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign not over: %s", out)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !regexp.MustCompile(`exhausted +2\n`).MatchString(out) {
		t.Fatalf("status: %s", out)
	}
	out, errOut, code = cli(t, env, "campaign", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "spring") {
		t.Fatalf("list: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = cli(t, env, "campaign", "attempts", id)
	if code != 0 || len(regexp.MustCompile(`(?m)^\S+ +attempt +\+`).FindAllString(out, -1)) != 4 || !strings.Contains(out, "busy: redial") {
		t.Fatalf("attempts: exit %d: %s%s", code, out, errOut)
	}
	if _, errOut, code = cli(t, env, "campaign", "create", "--contacts", file, "--redial", "engaged=1m*2"); code != 2 || !strings.Contains(errOut, "engaged") {
		t.Fatalf("bad redial rule: exit %d: %s", code, errOut)
	}
}
