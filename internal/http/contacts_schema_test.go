package http

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestContactsAnswersMatchSchemas drives the contact and to-do routes and
// checks that every status is documented for the operation and every body
// fits the documented schema.
func TestContactsAnswersMatchSchemas(t *testing.T) {
	doc := mustSpec(t)
	ops := operations(doc)
	ctx := context.Background()
	store := sqlstoretest.Open(t, sqlstore.SQLite)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(job.Migrate(ctx, store))
	queue, err := job.New(store, nil, job.Config{NoWork: true})
	must(err)
	tenant := sqlstoretest.MustTenant(t, store)
	_, key, err := store.CreateAPIKey(ctx, tenant.ID, "", false)
	must(err)
	srv := &Server{Store: store, Calls: &call.Service{Store: store, Queue: queue, Stages: pipeline.Stages}, Jobs: queue, MaxBodyBytes: 4 << 10}

	seen := map[string]bool{}
	do := func(route, target, body string) map[string]any {
		t.Helper()
		method, _, _ := strings.Cut(route, " ")
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if body == "" {
			req = httptest.NewRequest(method, target, nil)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		code := strconv.Itoa(rec.Code)
		seen[route+" "+code] = true
		rs, _ := ops[route]["responses"].(map[string]any)
		rv, ok := rs[code]
		if !ok {
			t.Errorf("%s %s answered %s, which the document does not list: %s", method, target, code, rec.Body)
			return nil
		}
		content, _ := deref(t, doc, rv)["content"].(map[string]any)
		if len(content) == 0 {
			if rec.Body.Len() != 0 {
				t.Errorf("%s %s answered %s with a body the document does not describe", method, target, code)
			}
			return nil
		}
		media, _ := content["application/json"].(map[string]any)
		var v any
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s %s: answer is not JSON: %v", method, target, err)
			return nil
		}
		for _, p := range checkSchema(doc, media["schema"], v, "body") {
			t.Errorf("%s %s answered %s: %s\n%s", method, target, code, p, rec.Body)
		}
		m, _ := v.(map[string]any)
		return m
	}

	c := &callscope.Call{TenantID: tenant.ID, From: "+254711000111", ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtCallID, Value: "schema-call-1"}}}
	must(srv.Calls.Create(ctx, c))
	contact := do("POST /api/v1/contacts", "/api/v1/contacts", `{"name":"Jane","phone_numbers":["+254711000111"],"time_zone":"Africa/Nairobi"}`)
	cid, _ := contact["id"].(string)
	must(store.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.LinkCallContact(ctx, c) }))
	if _, err := store.AddExtractedTodos(ctx, tenant.ID, c.ID, []*callscope.Todo{{Text: "send the form", DueDate: "2030-01-15"}}); err != nil {
		t.Fatal(err)
	}
	do("POST /api/v1/contacts", "/api/v1/contacts", `{"phone_numbers":["+254711000111"]}`)
	do("POST /api/v1/contacts", "/api/v1/contacts", `{"nickname":"J"}`)
	do("GET /api/v1/contacts", "/api/v1/contacts?q=jane&limit=1", "")
	do("GET /api/v1/contacts", "/api/v1/contacts?limit=x", "")
	do("GET /api/v1/contacts/{contact_id}", "/api/v1/contacts/"+cid, "")
	do("GET /api/v1/contacts/{contact_id}", "/api/v1/contacts/nope", "")
	do("PATCH /api/v1/contacts/{contact_id}", "/api/v1/contacts/"+cid, `{"email":"jane@example.com"}`)
	do("PATCH /api/v1/contacts/{contact_id}", "/api/v1/contacts/"+cid, `{"time_zone":"Nowhere/Else"}`)
	do("PATCH /api/v1/contacts/{contact_id}", "/api/v1/contacts/nope", `{}`)
	do("GET /api/v1/contacts/{contact_id}/calls", "/api/v1/contacts/"+cid+"/calls", "")
	do("GET /api/v1/contacts/{contact_id}/calls", "/api/v1/contacts/nope/calls", "")
	do("GET /api/v1/contacts/{contact_id}/calls", "/api/v1/contacts/"+cid+"/calls?limit=0", "")
	list := do("GET /api/v1/calls/{call_id}/todos", "/api/v1/calls/schema-call-1/todos", "")
	do("GET /api/v1/calls/{call_id}/todos", "/api/v1/calls/nope/todos", "")
	do("GET /api/v1/todos", "/api/v1/todos?status=open&call_id=schema-call-1&due_before=2031-01-01", "")
	do("GET /api/v1/todos", "/api/v1/todos?status=later", "")
	do("POST /api/v1/todos", "/api/v1/todos", `{"call_id":"schema-call-1","text":"call back"}`)
	do("POST /api/v1/todos", "/api/v1/todos", `{"call_id":"schema-call-1","text":"call back"}`)
	do("POST /api/v1/todos", "/api/v1/todos", `{"call_id":"nope","text":"x"}`)
	do("POST /api/v1/todos", "/api/v1/todos", `{"call_id":"schema-call-1"}`)
	var tid string
	if todos, _ := list["todos"].([]any); len(todos) == 1 {
		tid, _ = todos[0].(map[string]any)["id"].(string)
	}
	do("PATCH /api/v1/todos/{todo_id}", "/api/v1/todos/"+tid, `{"status":"done","assignee":"amina"}`)
	do("PATCH /api/v1/todos/{todo_id}", "/api/v1/todos/"+tid, `{"status":"later"}`)
	do("PATCH /api/v1/todos/{todo_id}", "/api/v1/todos/nope", `{}`)
	do("DELETE /api/v1/contacts/{contact_id}", "/api/v1/contacts/"+cid, "")
	do("DELETE /api/v1/contacts/{contact_id}", "/api/v1/contacts/"+cid, "")

	for _, want := range []string{
		"POST /api/v1/contacts 201", "POST /api/v1/contacts 409", "POST /api/v1/contacts 422",
		"GET /api/v1/contacts 200", "GET /api/v1/contacts 422",
		"GET /api/v1/contacts/{contact_id} 200", "GET /api/v1/contacts/{contact_id} 404",
		"PATCH /api/v1/contacts/{contact_id} 200", "PATCH /api/v1/contacts/{contact_id} 422", "PATCH /api/v1/contacts/{contact_id} 404",
		"GET /api/v1/contacts/{contact_id}/calls 200", "GET /api/v1/contacts/{contact_id}/calls 404", "GET /api/v1/contacts/{contact_id}/calls 422",
		"GET /api/v1/calls/{call_id}/todos 200", "GET /api/v1/calls/{call_id}/todos 404",
		"GET /api/v1/todos 200", "GET /api/v1/todos 422",
		"POST /api/v1/todos 201", "POST /api/v1/todos 409", "POST /api/v1/todos 404", "POST /api/v1/todos 422",
		"PATCH /api/v1/todos/{todo_id} 200", "PATCH /api/v1/todos/{todo_id} 422", "PATCH /api/v1/todos/{todo_id} 404",
		"DELETE /api/v1/contacts/{contact_id} 204", "DELETE /api/v1/contacts/{contact_id} 404",
	} {
		if !seen[want] {
			t.Errorf("never saw %s", want)
		}
	}
}
