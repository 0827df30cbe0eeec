package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestContactDoNotCallIsNeverDialled: a number whose contact is marked
// do_not_call is not dialled, whether its call comes due or its owner
// starts it; the same number dials again once the mark is removed.
func TestContactDoNotCallIsNeverDialled(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e, _, _ := autoEnv(t, d, nil)
			r := e.do("POST", "/api/v1/contacts", e.key, map[string]any{"name": "Ada Lovelace", "phone_numbers": []string{"+14155550161"}, "do_not_call": true})
			wantStatus(t, r, 201)
			cid := r.json(t)["id"].(string)

			schedule := func(at time.Time) string {
				t.Helper()
				b := scheduleBody("u1", at)
				b["contactPhone"] = "+14155550161"
				b["simulate"] = map[string]any{"outcome": "answer", "ringSeconds": 0, "talkSeconds": 1}
				r := e.do("POST", "/autocaller/calls/schedule", e.key, b)
				wantStatus(t, r, 201)
				return r.json(t)["callId"].(string)
			}
			// Started by its owner: refused.
			id := schedule(time.Now().Add(time.Hour))
			r = e.do("POST", "/autocaller/calls/"+id+"/start", e.key, map[string]any{"userId": "u1"})
			wantStatus(t, r, 409)
			if !strings.Contains(string(r.Body), "do-not-call") {
				t.Fatalf("409 does not say why: %s", r.Body)
			}
			// Coming due: failed without dialling, saying why.
			id = schedule(time.Now())
			st := e.waitAutoStatus(t, id, "failed")
			if !strings.Contains(strings.ToLower(mustString(st["errorInfo"])), "do-not-call") || st["startTime"] != nil {
				t.Fatalf("failed call: %v", st)
			}
			// Unmarked, the number is dialled.
			wantStatus(t, e.do("PATCH", "/api/v1/contacts/"+cid, e.key, map[string]any{"do_not_call": false}), 200)
			id = schedule(time.Now())
			e.waitAutoStatus(t, id, "completed")
		})
	}
}

func mustString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		var b strings.Builder
		for k, s := range x {
			b.WriteString(k + "=" + mustString(s) + " ")
		}
		return b.String()
	}
	return ""
}
