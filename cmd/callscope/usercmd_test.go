package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CALLSCOPE_DATA_DIR=" + dir}
	if _, errOut, code := cli(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	if _, errOut, code := cli(t, env, "tenant", "create", "--name", "acme"); code != 0 {
		t.Fatalf("tenant create: %s", errOut)
	}
	out, errOut, code := cli(t, env, "user", "create", "--tenant", "acme", "--email", "Bo@Example.org", "--role", "admin")
	if code != 0 {
		t.Fatalf("user create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if pw := lines[len(lines)-1]; len(pw) < 16 || strings.ContainsAny(pw, `{}"`) {
		t.Fatalf("no generated password on the last line: %q", out)
	}
	var u map[string]any
	if err := json.Unmarshal([]byte(strings.Join(lines[:len(lines)-1], "\n")), &u); err != nil || u["email"] != "bo@example.org" || u["role"] != "admin" {
		t.Fatalf("user create printed %q (%v)", out, err)
	}
	if strings.Contains(out, "argon2") {
		t.Fatal("the password hash is printed")
	}
	_, errOut, code = cli(t, env, "user", "create", "--tenant", "acme", "--email", "bo@example.org")
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate user: %d %q", code, errOut)
	}
	_, errOut, code = cli(t, env, "user", "create", "--tenant", "acme", "--email", "cy@example.org", "--role", "boss")
	if code != 1 || !strings.Contains(errOut, "role") {
		t.Fatalf("bad role: %d %q", code, errOut)
	}
	out, _, code = cli(t, env, "user", "disable", "BO@example.org")
	if code != 0 || !strings.Contains(out, `"disabled": true`) {
		t.Fatalf("disable: %d %q", code, out)
	}
	out, _, code = cli(t, env, "user", "list", "--tenant", "acme")
	var us []map[string]any
	if err := json.Unmarshal([]byte(out), &us); code != 0 || err != nil || len(us) != 1 || us[0]["disabled"] != true {
		t.Fatalf("list: %d %q %v", code, out, err)
	}
	_, errOut, code = cli(t, env, "user", "disable", "nobody@example.org")
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("unknown user: %d %q", code, errOut)
	}
}
