package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestHelpForEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"migrate", "--help"}, {"tenant", "create", "--help"}, {"tenant", "list", "--help"},
		{"apikey", "create", "--help"}, {"apikey", "list", "--help"}, {"apikey", "revoke", "--help"}, {"tenant", "--help"}, {"apikey", "--help"}, {"secret-key", "generate", "--help"}, {"secret-key", "--help"}, {"--help"},
		{"process", "--help"}, {"eval", "--help"}, {"bench", "--help"}, {"bench", "asr", "--help"}, {"stream", "--help"},
		{"erase", "--help"}, {"deletions", "--help"}, {"backup", "--help"}, {"restore", "--help"}, {"help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, errOut, code := cli(t, nil, args...)
			if code != 0 || !strings.Contains(out+errOut, "Usage") {
				t.Fatalf("exit %d, output:\n%s%s", code, out, errOut)
			}
		})
	}
	// Every command (and subcommand) the usage text lists answers --help
	// with exit 0.
	for _, line := range strings.Split(usage, "\n") {
		words := strings.Fields(strings.TrimPrefix(line, "  callscope "))
		if !strings.HasPrefix(line, "  callscope ") || len(words) == 0 {
			continue
		}
		args := []string{words[0]}
		if len(words) > 1 && regexp.MustCompile(`^[a-z][a-z|-]*$`).MatchString(words[1]) {
			args = append(args, strings.Split(words[1], "|")[0])
		}
		args = append(args, "--help")
		if _, errOut, code := cli(t, nil, args...); code != 0 {
			t.Errorf("%s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
	}
	out, _, code := cli(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "callscope ") {
		t.Fatalf("version: %d %q", code, out)
	}
	_, errOut, code := cli(t, nil, "frobnicate")
	if code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
}
