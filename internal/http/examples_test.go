package http_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/sqlstore"
)

// TestOpenAPIRequestExamples: every JSON request body the docs show has an
// example, and it is the body the input sweep sends (so the server is
// known to accept it); the docs show them, and open on the calls.
func TestOpenAPIRequestExamples(t *testing.T) {
	e := newEnv(t, sqlstore.SQLite)
	r := e.do("GET", "/openapi.json", "", nil)
	wantStatus(t, r, 200)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Content map[string]struct {
					Example any `json:"example"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	must(t, json.Unmarshal(r.Body, &doc))
	for _, route := range e.server.JSONRoutes() {
		method, path, _ := strings.Cut(route, " ")
		op := doc.Paths[path][strings.ToLower(method)]
		if op.RequestBody == nil {
			t.Errorf("%s: no request body documented", route)
			continue
		}
		media, ok := op.RequestBody.Content["application/json"]
		if !ok {
			continue // not a JSON body
		}
		if media.Example == nil {
			t.Errorf("%s: the request body has no example", route)
			continue
		}
		body, ok := sweepBodies[route]
		if !ok {
			continue
		}
		var want any
		must(t, json.Unmarshal([]byte(body), &want))
		if !reflect.DeepEqual(media.Example, want) {
			t.Errorf("%s: the example is not the body the sweep sends\nexample: %v\nsweep:   %v", route, media.Example, want)
		}
	}
	page := string(e.do("GET", "/docs", "", nil).Body)
	if !strings.Contains(page, `<pre class="example">`) {
		t.Error("the docs show no request example")
	}
	first := regexp.MustCompile(`<h2 class="tag" id="tag-([^"]+)">`).FindStringSubmatch(page)
	if first == nil || first[1] != "Calls" {
		t.Errorf("the docs open on %v, want Calls", first)
	}
}
