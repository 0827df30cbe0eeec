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

func TestReadContactsCSV(t *testing.T) {
	got, err := readContactsCSV(strings.NewReader("\ufeffPhone, Name ,time_zone,plan\n+14155550101,Ada,Europe/London,gold\n+14155550102,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["phone"] != "+14155550101" || got[0]["time_zone"] != "Europe/London" ||
		got[0]["variables"].(map[string]string)["plan"] != "gold" || got[1]["time_zone"] != nil {
		t.Fatalf("contacts = %v", got)
	}
	for in, want := range map[string]string{
		"":                             "empty",
		"name\nAda\n":                  "no phone column",
		"phone,phone\n+1415555010,x\n": "twice",
		"phone\n0800123\n":             "line 2",
		"phone,time_zone\n+14155550101,Mars/Olympus\n": "time zone",
		"phone\n+14155550101,extra\n":                  "wrong number of fields",
	} {
		if _, err := readContactsCSV(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", in, err, want)
		}
	}
}

// FuzzReadContactsCSV: any file is read or refused with an error, and
// every contact read has a valid phone number.
func FuzzReadContactsCSV(f *testing.F) {
	f.Add("phone,name,time_zone,plan\n+14155550101,Ada,Europe/London,gold\n")
	f.Add("phone\n\"+1415\"\"5550101\"\n")
	f.Add("\ufeffPHONE;name\n+1;x\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readContactsCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, c := range got {
			if p, _ := c["phone"].(string); !strings.HasPrefix(p, "+") {
				t.Fatalf("contact without a valid phone: %v", c)
			}
		}
	})
}
