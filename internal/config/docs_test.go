package config_test

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/config"
)

// known returns every variable name callscope reads: each variable, its
// aliases, the ENABLE_* switches, and API_HOST/API_PORT.
func known() map[string]bool {
	out := map[string]bool{"API_HOST": true, "API_PORT": true}
	for _, v := range config.Vars {
		out[v.Name] = true
		for _, a := range v.Aliases {
			out[a] = true
		}
	}
	for k := range config.Switches {
		out[k] = true
	}
	return out
}

// readmeTable returns the rows of the README's configuration table.
func readmeTable(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, line)
		}
	}
	if len(rows) < 10 {
		t.Fatalf("README.md's configuration table has %d rows", len(rows))
	}
	return rows
}

var varName = regexp.MustCompile("`([A-Z][A-Z0-9_]*[A-Z0-9])`")

// TestREADMEListsEveryVariable holds the README's configuration table to
// the variables callscope reads: each variable (by its name or one of its
// aliases) and each ENABLE_* switch is in the table's first column, and
// every name there is one callscope reads.
func TestREADMEListsEveryVariable(t *testing.T) {
	listed := map[string]bool{}
	for _, row := range readmeTable(t) {
		first := strings.SplitN(strings.TrimPrefix(row, "|"), "|", 2)[0]
		for _, m := range varName.FindAllStringSubmatch(first, -1) {
			listed[m[1]] = true
		}
	}
	for _, v := range config.Vars {
		found := listed[v.Name]
		for _, a := range v.Aliases {
			found = found || listed[a]
		}
		if !found {
			t.Errorf("README.md's configuration table does not list %s", v.Name)
		}
	}
	for k := range config.Switches {
		if !listed[k] {
			t.Errorf("README.md's configuration table does not list the switch %s", k)
		}
	}
	all := known()
	var unknown []string
	for name := range listed {
		if !all[name] && !all[strings.TrimSuffix(name, "_FILE")] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("README.md's configuration table lists variables callscope does not read: %v", unknown)
	}
}

// TestPackagingNamesKnownVariables: every CALLSCOPE_* name in the
// deployment files (image, Compose file, systemd unit and its environment
// file) is one callscope reads, so that a misspelt setting is caught here
// rather than silently ignored in production.
func TestPackagingNamesKnownVariables(t *testing.T) {
	all := known()
	re := regexp.MustCompile(`\bCALLSCOPE_[A-Z0-9_]*[A-Z0-9]\b`)
	for _, f := range []string{"../../Dockerfile", "../../compose.yaml", "../../packaging/callscope.service", "../../packaging/callscope.env"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, name := range re.FindAllString(string(b), -1) {
			n++
			if !all[name] && !all[strings.TrimSuffix(name, "_FILE")] {
				t.Errorf("%s names %s, which callscope does not read", f, name)
			}
		}
		if n == 0 {
			t.Errorf("%s names no CALLSCOPE_ variable; the check reads nothing", f)
		}
	}
}
