package http_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHTTPReachesNoStorageOrQueue keeps the HTTP surfaces adapters: they
// read through the narrow Store interface and change calls through the call
// service, so no file of the package imports the storage or the queue.
func TestHTTPReachesNoStorageOrQueue(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "github.com/callscope/callscope/internal/http").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch imp {
		case "github.com/callscope/callscope/internal/sqlstore", "github.com/callscope/callscope/internal/job",
			"github.com/riverqueue/river":
			t.Errorf("internal/http imports %s; read through http.Store and change calls through internal/call", imp)
		}
	}
}
