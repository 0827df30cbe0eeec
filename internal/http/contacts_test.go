package http_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// supportCall is a call in which the agent introduces himself, the caller
// gives an e-mail address and the agent makes two commitments.
var supportCall = []map[string]any{
	{"segment_id": 1, "speaker": "agent", "start_time": 0.5, "end_time": 4.0, "text": "Good morning, Acme support, this is Brian. How can I help?"},
	{"segment_id": 2, "speaker": "caller", "start_time": 4.5, "end_time": 10.0, "text": "Hi, I was charged twice for my internet bill this month, two thousand shillings each time."},
	{"segment_id": 3, "speaker": "agent", "start_time": 10.5, "end_time": 15.0, "text": "Sorry about that. I will refund the second payment and send you a confirmation by email."},
	{"segment_id": 4, "speaker": "caller", "start_time": 15.5, "end_time": 18.0, "text": "Great, my email is jane.doe@example.com. Thank you."},
}

// processCall creates an inbound call from the number with the transcript,
// ends it and waits for its processing; it returns callscope's id.
func processCall(t *testing.T, e *env, ref, from string, segs []map[string]any) string {
	t.Helper()
	r := e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": ref, "direction": "inbound", "from": from, "to": "+254200000000"})
	wantStatus(t, r, 201)
	id := mustCallID(t, e, ref)
	must(t, e.store.PutSegments(context.Background(), id, toSegments(segs)))
	wantStatus(t, e.do("POST", "/api/v1/calls/"+ref+"/end", e.key, nil), 200)
	waitProcessed(t, e, id)
	return id
}

// waitProcessed waits until the call's processing is completed and its
// job has left the queue, so that a reprocessing request that follows
// does not meet the job while the queue is still finishing it.
func waitProcessed(t *testing.T, e *env, id string) {
	t.Helper()
	waitProcessing(t, e, id, callscope.ProcessingCompleted)
	waitFor(t, "the processing job to finish", func() bool {
		n, err := e.queue.CallJobs(context.Background(), pipeline.ProcessCallArgs{}.Kind(), e.tenant.ID, id)
		return err == nil && n.Waiting == 0 && n.Running == 0
	})
}

func todoTexts(t *testing.T, r response) []string {
	t.Helper()
	wantStatus(t, r, 200)
	var out []string
	for _, x := range r.json(t)["todos"].([]any) {
		out = append(out, x.(map[string]any)["text"].(string))
	}
	return out
}

// TestContactEnrichment runs the real pipeline on a call from a number in
// the contact book: the empty e-mail is filled from what the caller said,
// with its source, and the name a person typed in is left alone.
func TestContactEnrichment(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newPipelineEnv(t, d)
			ctx := context.Background()
			r := e.do("POST", "/api/v1/contacts", e.key, map[string]any{"name": "Jane Wanjiru", "phone_numbers": []string{"+254711000111"}})
			wantStatus(t, r, 201)
			contact := r.json(t)
			cid := contact["id"].(string)
			wantExactKeys(t, "Contact", contact, "id", "name", "phone_numbers", "email", "organization", "time_zone", "do_not_call",
				"notes", "sources", "created_at", "updated_at")

			id := processCall(t, e, "enrich-1", "+254711000111", supportCall)
			r = e.do("GET", "/api/v1/calls/enrich-1", e.key, nil)
			wantStatus(t, r, 200)
			if got := r.json(t)["contact_id"]; got != cid {
				t.Fatalf("call contact_id = %v, want %s", got, cid)
			}
			r = e.do("GET", "/api/v1/contacts/"+cid, e.key, nil)
			wantStatus(t, r, 200)
			got := r.json(t)
			if got["email"] != "jane.doe@example.com" {
				t.Fatalf("email = %v", got["email"])
			}
			if got["name"] != "Jane Wanjiru" {
				t.Fatalf("the typed-in name became %v", got["name"])
			}
			sources := got["sources"].(map[string]any)
			src, ok := sources["email"].(map[string]any)
			if !ok || src["call_id"] != id || src["at"] == "" {
				t.Fatalf("sources = %v", sources)
			}
			if _, ok := sources["name"]; ok || len(sources) != 1 {
				t.Fatalf("sources = %v, want the e-mail's only", sources)
			}
			evs, err := e.store.Events(ctx, e.tenant.ID, id)
			must(t, err)
			n := 0
			for _, ev := range evs {
				if ev.Type == callscope.EventContactEnriched {
					n++
					if !strings.Contains(string(ev.Data), cid) || !strings.Contains(string(ev.Data), `"email"`) {
						t.Errorf("contact.enriched = %s", ev.Data)
					}
				}
			}
			if n != 1 {
				t.Fatalf("%d contact.enriched events", n)
			}
			r = e.do("GET", "/api/v1/contacts/"+cid+"/calls", e.key, nil)
			wantStatus(t, r, 200)
			if calls := r.json(t)["calls"].([]any); len(calls) != 1 || calls[0].(map[string]any)["id"] != id {
				t.Fatalf("contact calls = %s", r.Body)
			}

			// A person's e-mail is theirs: processing again does not
			// change it back, and records no new source.
			r = e.do("PATCH", "/api/v1/contacts/"+cid, e.key, map[string]any{"email": "jane@work.example"})
			wantStatus(t, r, 200)
			if s := r.json(t)["sources"].(map[string]any); len(s) != 0 {
				t.Fatalf("sources after a person's e-mail = %v", s)
			}
			wantStatus(t, e.do("POST", "/api/v1/process/reprocess", e.key, map[string]any{"call_id": "enrich-1", "tenant_id": e.tenant.ID, "force": true}), 202)
			waitProcessed(t, e, id)
			r = e.do("GET", "/api/v1/contacts/"+cid, e.key, nil)
			wantStatus(t, r, 200)
			if got := r.json(t); got["email"] != "jane@work.example" || got["name"] != "Jane Wanjiru" {
				t.Fatalf("after reprocessing: %s", r.Body)
			}

			// An unknown number that gives a name becomes a contact.
			newcomer := []map[string]any{
				{"segment_id": 1, "speaker": "agent", "start_time": 0.0, "end_time": 3.0, "text": "Good morning, how can I help you today?"},
				{"segment_id": 2, "speaker": "caller", "start_time": 3.0, "end_time": 8.0, "text": "Hello, my name is Peter Kamau and my email is peter.kamau@example.org."},
				{"segment_id": 3, "speaker": "agent", "start_time": 8.0, "end_time": 12.0, "text": "Thank you Peter, I will send you the forms today."},
				{"segment_id": 4, "speaker": "caller", "start_time": 12.0, "end_time": 14.0, "text": "Thank you very much, goodbye."},
			}
			id2 := processCall(t, e, "enrich-2", "+254722333444", newcomer)
			r = e.do("GET", "/api/v1/contacts?q="+url.QueryEscape("+254722333444"), e.key, nil)
			wantStatus(t, r, 200)
			list := r.json(t)["contacts"].([]any)
			if len(list) != 1 {
				t.Fatalf("contacts with the new number: %s", r.Body)
			}
			made := list[0].(map[string]any)
			if made["name"] != "Peter Kamau" || made["email"] != "peter.kamau@example.org" {
				t.Fatalf("created contact = %v", made)
			}
			if s := made["sources"].(map[string]any)["name"].(map[string]any); s["call_id"] != id2 {
				t.Fatalf("name source = %v", s)
			}
			r = e.do("GET", "/api/v1/calls/enrich-2", e.key, nil)
			if r.json(t)["contact_id"] != made["id"] {
				t.Fatalf("the new contact's call is not linked: %s", r.Body)
			}

			// Erasing the call keeps the contact and drops the sources that
			// point at it.
			wantStatus(t, e.do("DELETE", "/api/v1/calls/enrich-2", e.key, nil), 200)
			r = e.do("GET", "/api/v1/contacts/"+made["id"].(string), e.key, nil)
			wantStatus(t, r, 200)
			if got := r.json(t); got["name"] != "Peter Kamau" || len(got["sources"].(map[string]any)) != 0 {
				t.Fatalf("after erasure: %s", r.Body)
			}
		})
	}
}

// TestTodosAPI lists, filters and completes the to-dos of a processed call
// through the API; processing it again adds none twice.
func TestTodosAPI(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newPipelineEnv(t, d)
			id := processCall(t, e, "todo-call-1", "+254733000000", supportCall)
			texts := todoTexts(t, e.do("GET", "/api/v1/calls/todo-call-1/todos", e.key, nil))
			if len(texts) == 0 {
				t.Fatal("the processed call has no to-dos")
			}
			r := e.do("GET", "/api/v1/todos?status=open&call_id=todo-call-1", e.key, nil)
			wantStatus(t, r, 200)
			first := r.json(t)["todos"].([]any)[0].(map[string]any)
			wantExactKeys(t, "Todo", first, "id", "call_id", "text", "status", "assignee", "due_date", "source", "created_at", "updated_at")
			if first["call_id"] != id || first["source"] != "extracted" || first["status"] != "open" {
				t.Fatalf("to-do = %v", first)
			}
			tid := first["id"].(string)
			r = e.do("PATCH", "/api/v1/todos/"+tid, e.key, map[string]any{"status": "done", "assignee": "brian", "due_date": "2030-01-15"})
			wantStatus(t, r, 200)
			if got := r.json(t); got["status"] != "done" || got["assignee"] != "brian" || got["due_date"] != "2030-01-15" {
				t.Fatalf("patched = %s", r.Body)
			}
			if got := todoTexts(t, e.do("GET", "/api/v1/todos?status=done", e.key, nil)); len(got) != 1 || got[0] != first["text"] {
				t.Fatalf("done = %v", got)
			}
			if got := todoTexts(t, e.do("GET", "/api/v1/todos?status=open", e.key, nil)); len(got) != len(texts)-1 {
				t.Fatalf("open = %v", got)
			}
			if got := todoTexts(t, e.do("GET", "/api/v1/todos?assignee=brian&due_before=2030-02-01", e.key, nil)); len(got) != 1 {
				t.Fatalf("brian's, due before February = %v", got)
			}
			if got := todoTexts(t, e.do("GET", "/api/v1/todos?due_before=2030-01-15", e.key, nil)); len(got) != 0 {
				t.Fatalf("due before the 15th = %v", got)
			}

			// A person adds one; the same text again is a conflict.
			add := map[string]any{"call_id": "todo-call-1", "text": "Call the bank back", "due_date": "2030-01-10"}
			r = e.do("POST", "/api/v1/todos", e.key, add)
			wantStatus(t, r, 201)
			if got := r.json(t); got["source"] != "manual" || got["call_id"] != id {
				t.Fatalf("added = %s", r.Body)
			}
			wantStatus(t, e.do("POST", "/api/v1/todos", e.key, add), 409)

			wantStatus(t, e.do("POST", "/api/v1/process/reprocess", e.key, map[string]any{"call_id": "todo-call-1", "tenant_id": e.tenant.ID, "force": true}), 202)
			waitProcessed(t, e, id)
			again := todoTexts(t, e.do("GET", "/api/v1/calls/todo-call-1/todos", e.key, nil))
			if len(again) != len(texts)+1 {
				t.Fatalf("after reprocessing %v, before %v", again, texts)
			}
			if got := todoTexts(t, e.do("GET", "/api/v1/todos?status=done", e.key, nil)); len(got) != 1 {
				t.Fatalf("reprocessing reopened a to-do: done = %v", got)
			}

			// Paging.
			r = e.do("GET", "/api/v1/todos?limit=1", e.key, nil)
			wantStatus(t, r, 200)
			next, _ := r.json(t)["next_cursor"].(string)
			if next == "" {
				t.Fatalf("first page = %s", r.Body)
			}
			if got := todoTexts(t, e.do("GET", "/api/v1/todos?limit=100&cursor="+next, e.key, nil)); len(got) != len(again)-1 {
				t.Fatalf("after the cursor: %v", got)
			}

			// Deleting the call deletes its to-dos.
			wantStatus(t, e.do("DELETE", "/api/v1/calls/todo-call-1", e.key, nil), 200)
			if got := todoTexts(t, e.do("GET", "/api/v1/todos", e.key, nil)); len(got) != 0 {
				t.Fatalf("to-dos of a deleted call: %v", got)
			}
		})
	}
}

// TestContactsTenancyAndInput: another tenant's contacts and to-dos are
// 404; bodies are strict; numbers are unique per tenant.
func TestContactsTenancyAndInput(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			r := e.do("POST", "/api/v1/contacts", e.key, map[string]any{"name": "Amina", "phone_numbers": []string{"+254700000001"},
				"time_zone": "Africa/Nairobi"})
			wantStatus(t, r, 201)
			cid := r.json(t)["id"].(string)
			wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "ten-1"}), 201)
			r = e.do("POST", "/api/v1/todos", e.key, map[string]any{"call_id": "ten-1", "text": "Send the form"})
			wantStatus(t, r, 201)
			tid := r.json(t)["id"].(string)

			r = e.do("POST", "/api/v1/tenants", e.admin, map[string]any{"name": "other tenant"})
			wantStatus(t, r, 201)
			other := r.json(t)["id"].(string)
			r = e.do("POST", "/api/v1/tenants/"+other+"/api-keys", e.admin, map[string]any{})
			wantStatus(t, r, 201)
			okey := r.json(t)["key"].(string)
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v1/contacts/" + cid}, {"PATCH", "/api/v1/contacts/" + cid}, {"DELETE", "/api/v1/contacts/" + cid},
				{"GET", "/api/v1/contacts/" + cid + "/calls"}, {"PATCH", "/api/v1/todos/" + tid}, {"GET", "/api/v1/calls/ten-1/todos"},
			} {
				var body any
				if c.method == "PATCH" {
					body = map[string]any{}
				}
				wantStatus(t, e.do(c.method, c.path, okey, body), 404)
			}
			wantStatus(t, e.do("POST", "/api/v1/todos", okey, map[string]any{"call_id": "ten-1", "text": "x"}), 404)
			r = e.do("GET", "/api/v1/contacts", okey, nil)
			wantStatus(t, r, 200)
			if n := len(r.json(t)["contacts"].([]any)); n != 0 {
				t.Fatalf("the other tenant sees %d contacts", n)
			}
			if got := todoTexts(t, e.do("GET", "/api/v1/todos?call_id=ten-1", okey, nil)); len(got) != 0 {
				t.Fatalf("the other tenant sees to-dos %v", got)
			}
			// The same number in another tenant is no clash.
			wantStatus(t, e.do("POST", "/api/v1/contacts", okey, map[string]any{"phone_numbers": []string{"+254700000001"}}), 201)

			r = e.do("POST", "/api/v1/contacts", e.key, map[string]any{"name": "Dup", "phone_numbers": []string{"+254700000001"}})
			wantStatus(t, r, 409)
			if !strings.Contains(string(r.Body), "+254700000001") {
				t.Fatalf("conflict does not name the number: %s", r.Body)
			}
			for _, c := range []struct {
				method, path string
				body         any
				loc          []any
			}{
				{"POST", "/api/v1/contacts", map[string]any{"name": "X", "phone": "+254700000002"}, []any{"body", "phone"}},
				{"PATCH", "/api/v1/contacts/" + cid, map[string]any{"nickname": "A"}, []any{"body", "nickname"}},
				{"POST", "/api/v1/todos", map[string]any{"call_id": "ten-1", "text": "t", "owner": "me"}, []any{"body", "owner"}},
				{"PATCH", "/api/v1/todos/" + tid, map[string]any{"done": true}, []any{"body", "done"}},
				{"POST", "/api/v1/contacts", map[string]any{"phone_numbers": []string{"0722000000"}}, []any{"body", "phone_numbers", "0"}},
				{"POST", "/api/v1/contacts", map[string]any{"time_zone": "Mars/Olympus"}, []any{"body", "time_zone"}},
				{"PATCH", "/api/v1/todos/" + tid, map[string]any{"status": "later"}, []any{"body", "status"}},
				{"PATCH", "/api/v1/todos/" + tid, map[string]any{"due_date": "next week"}, []any{"body", "due_date"}},
				{"POST", "/api/v1/todos", map[string]any{"call_id": "ten-1"}, []any{"body", "text"}},
				{"GET", "/api/v1/todos?status=closed", nil, []any{"query", "status"}},
				{"GET", "/api/v1/todos?due_before=soon", nil, []any{"query", "due_before"}},
				{"GET", "/api/v1/contacts?limit=0", nil, []any{"query", "limit"}},
				{"GET", "/api/v1/contacts?name=x", nil, []any{"query", "name"}},
			} {
				t.Run(fmt.Sprint(c.method, " ", c.path, " ", c.loc), func(t *testing.T) {
					r := e.do(c.method, c.path, e.key, c.body)
					wantStatus(t, r, 422)
					wantField(t, r, c.loc...)
				})
			}
			// What was accepted reads back, and the listing still reads.
			r = e.do("PATCH", "/api/v1/contacts/"+cid, e.key, map[string]any{"notes": "ünï😀 \u202e", "do_not_call": true})
			wantStatus(t, r, 200)
			r = e.do("GET", "/api/v1/contacts?q=amina", e.key, nil)
			wantStatus(t, r, 200)
			list := r.json(t)["contacts"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["notes"] != "ünï😀 \u202e" || list[0].(map[string]any)["do_not_call"] != true {
				t.Fatalf("read back %s", r.Body)
			}
			wantStatus(t, e.do("DELETE", "/api/v1/contacts/"+cid, e.key, nil), 204)
			wantStatus(t, e.do("GET", "/api/v1/contacts/"+cid, e.key, nil), 404)
		})
	}
}
