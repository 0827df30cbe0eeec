package http_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestConsoleAPI checks the console's in-process API: it acts for the
// tenant it is given, validates as over HTTP, and sees nothing of
// another tenant.
func TestConsoleAPI(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) { testConsoleAPI(t, d) })
	}
}

func testConsoleAPI(t *testing.T, d sqlstore.Dialect) {
	e := newEnv(t, d)
	ctx := context.Background()
	other := sqlstoretest.MustTenant(t, e.store)

	st, body := e.server.ConsoleAPI(ctx, e.tenant.ID, "POST", "/api/analyzers", []byte(`{"name":"A","kind":"builtin","prompt":"keywords: x"}`))
	if st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	var a struct{ ID string }
	must(t, json.Unmarshal(body, &a))
	// The strict decoder names an unknown field.
	st, body = e.server.ConsoleAPI(ctx, e.tenant.ID, "POST", "/api/analyzers", []byte(`{"name":"A","nmae":"x"}`))
	if st != 422 || !strings.Contains(string(body), "nmae") {
		t.Fatalf("unknown field: %d %s", st, body)
	}
	// Unknown query parameters are refused as over HTTP.
	if st, body = e.server.ConsoleAPI(ctx, e.tenant.ID, "GET", "/api/analyzers?bogus=1", nil); st != 422 {
		t.Fatalf("unknown query parameter: %d %s", st, body)
	}
	// Another tenant does not see the analyzer.
	if st, body = e.server.ConsoleAPI(ctx, other.ID, "GET", "/api/analyzers/"+a.ID, nil); st != 404 {
		t.Fatalf("another tenant's analyzer: %d %s", st, body)
	}
	if st, body = e.server.ConsoleAPI(ctx, other.ID, "GET", "/api/analyzers", nil); st != 200 || strings.Contains(string(body), a.ID) {
		t.Fatalf("another tenant's list: %d %s", st, body)
	}
	if st, _ = e.server.ConsoleAPI(ctx, e.tenant.ID, "GET", "/no/such/route", nil); st != 404 {
		t.Fatalf("no route: %d", st)
	}
}
