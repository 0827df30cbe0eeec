package http_test

import (
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestCampaignAPI drives the campaign and do-not-call routes: a campaign
// is created with its contacts and starts calling them, a number on the
// do-not-call list is skipped with its reason in the log, another
// tenant's campaign is not found, and state changes follow their rules.
func TestCampaignAPI(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) { testCampaignAPI(t, d) })
	}
}

func testCampaignAPI(t *testing.T, d sqlstore.Dialect) {
	e := newEnv(t, d)

	r := e.do("POST", "/api/v1/do-not-call", e.key, `{"number":"+14155550102","reason":"asked by e-mail"}`)
	wantStatus(t, r, 201)
	wantStatus(t, e.do("POST", "/api/v1/do-not-call", e.key, `{"number":"+14155550102"}`), 200)
	r = e.do("POST", "/api/v1/do-not-call", e.key, `{"number":"0800 123"}`)
	wantStatus(t, r, 422)

	r = e.do("POST", "/api/v1/campaigns", e.key, `{"name":"x","concurency":3}`)
	wantStatus(t, r, 422)
	if !strings.Contains(string(r.Body), "concurency") {
		t.Fatalf("unknown field not named: %s", r.Body)
	}
	r = e.do("POST", "/api/v1/campaigns", e.key, `{"name":"x","redial":{"engaged":{"delay_seconds":1,"max_attempts":2}},"contacts":[{"phone":"12"}]}`)
	wantStatus(t, r, 422)
	for _, want := range []string{`"redial","engaged"`, `"contacts","0","phone"`} {
		if !strings.Contains(string(r.Body), want) {
			t.Fatalf("%s not named: %s", want, r.Body)
		}
	}

	body := `{"name":"API campaign","concurrency":2,"redial":{"busy":{"delay_seconds":60,"max_attempts":2}},` +
		`"provider":{"simulate":{"outcome":"answer","ringSeconds":0,"talkSeconds":0.01}},` +
		`"contacts":[{"phone":"+14155550101","name":"Ada","variables":{"plan":"gold"}},{"phone":"+14155550102"},{"phone":"+14155550103","time_zone":"Europe/Paris"}]}`
	r = e.do("POST", "/api/v1/campaigns", e.key, body)
	wantStatus(t, r, 201)
	c := r.json(t)
	id := c["id"].(string)
	if c["state"] != "running" || c["concurrency"] != 2.0 {
		t.Fatalf("created campaign = %s", r.Body)
	}
	counts := c["progress"].(map[string]any)["counts"].(map[string]any)
	if counts["in_progress"] != 2.0 || counts["skipped_dnc"] != 1.0 || counts["pending"] != 0.0 {
		t.Fatalf("progress after creation = %v", counts)
	}

	r = e.do("GET", "/api/v1/campaigns/"+id+"/attempts", e.key, nil)
	wantStatus(t, r, 200)
	var log struct {
		Attempts []struct {
			Event   string `json:"event"`
			Contact string `json:"contact"`
			CallID  string `json:"call_id"`
			Reason  string `json:"reason"`
		} `json:"attempts"`
	}
	decodeAs(t, r, &log)
	var skips, attempts []string
	for _, a := range log.Attempts {
		switch a.Event {
		case "skip":
			skips = append(skips, a.Contact+": "+a.Reason)
		case "attempt":
			attempts = append(attempts, a.Contact)
			// Each attempt is an ordinary call, in every call API.
			cr := e.do("GET", "/api/v1/calls/"+a.CallID, e.key, nil)
			wantStatus(t, cr, 200)
			if !strings.Contains(string(cr.Body), id) {
				t.Fatalf("call of the campaign does not name it: %s", cr.Body)
			}
		}
	}
	if len(skips) != 1 || !strings.HasPrefix(skips[0], "+14155550102: on the do-not-call list (api") ||
		strings.Join(attempts, " ") != "+14155550101 +14155550103" {
		t.Fatalf("log: skips %v, attempts %v", skips, attempts)
	}
	wantStatus(t, e.do("GET", "/api/v1/campaigns/"+id+"/attempts?event=bogus", e.key, nil), 422)
	wantStatus(t, e.do("GET", "/api/v1/campaigns/"+id+"/attempts?limit=0", e.key, nil), 422)

	// Another tenant sees none of it.
	otherKey := otherKey(t, e)
	wantStatus(t, e.do("GET", "/api/v1/campaigns/"+id, otherKey, nil), 404)
	wantStatus(t, e.do("POST", "/api/v1/campaigns/"+id+"/pause", otherKey, nil), 404)
	wantStatus(t, e.do("GET", "/api/v1/campaigns/"+id+"/attempts", otherKey, nil), 404)
	r = e.do("GET", "/api/v1/campaigns", otherKey, nil)
	wantStatus(t, r, 200)
	if strings.Contains(string(r.Body), id) {
		t.Fatalf("another tenant lists the campaign: %s", r.Body)
	}
	wantStatus(t, e.do("DELETE", "/api/v1/do-not-call/+14155550102", otherKey, nil), 404)

	// State changes.
	r = e.do("POST", "/api/v1/campaigns/"+id+"/pause", e.key, nil)
	wantStatus(t, r, 200)
	if r.json(t)["state"] != "paused" {
		t.Fatalf("paused: %s", r.Body)
	}
	wantStatus(t, e.do("POST", "/api/v1/campaigns/"+id+"/resume", e.key, nil), 200)
	r = e.do("POST", "/api/v1/campaigns/"+id+"/cancel", e.key, nil)
	wantStatus(t, r, 200)
	if r.json(t)["state"] != "cancelled" {
		t.Fatalf("cancelled: %s", r.Body)
	}
	wantStatus(t, e.do("POST", "/api/v1/campaigns/"+id+"/resume", e.key, nil), 409)
	wantStatus(t, e.do("POST", "/api/v1/campaigns/"+id+"/contacts", e.key, `{"contacts":[{"phone":"+14155550109"}]}`), 409)

	r = e.do("GET", "/api/v1/campaigns?limit=1", e.key, nil)
	wantStatus(t, r, 200)
	if m := r.json(t); len(m["campaigns"].([]any)) != 1 || m["next_cursor"] != id {
		t.Fatalf("campaign list = %s", r.Body)
	}

	// The do-not-call list.
	r = e.do("GET", "/api/v1/do-not-call", e.key, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.Body), `"number":"+14155550102","source":"api"`) {
		t.Fatalf("do-not-call list = %s", r.Body)
	}
	wantStatus(t, e.do("DELETE", "/api/v1/do-not-call/%2B14155550102", e.key, nil), 204)
	wantStatus(t, e.do("DELETE", "/api/v1/do-not-call/+14155550102", e.key, nil), 404)
}
