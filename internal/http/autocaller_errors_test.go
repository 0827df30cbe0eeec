package http_test

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// fieldLocs lists the field names a 400 answer names.
func fieldLocs(t *testing.T, r response) []string {
	t.Helper()
	wantStatus(t, r, 400)
	var m struct {
		Detail []struct {
			Loc []string `json:"loc"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(r.Body, &m); err != nil || len(m.Detail) == 0 {
		t.Fatalf("400 without field errors: %s", r.Body)
	}
	var out []string
	for _, d := range m.Detail {
		out = append(out, strings.Join(d.Loc, "."))
	}
	sort.Strings(out)
	return out
}

func scheduleBody(user string, at time.Time) map[string]any {
	return map[string]any{"userId": user, "title": "Follow-up", "contactName": "Grace Hopper", "contactPhone": "+14155550102",
		"scheduledTime": at.UTC().Format(time.RFC3339)}
}

// TestAutocallerErrors covers every error the seed lists: 400 naming the
// field, 401 for a bad key, 404 for an unknown or another user's call, 409
// for a start twice, a cancel of a started call and an end of a scheduled
// one.
func TestAutocallerErrors(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			clock := &manualClock{now: time.Now().UTC()}
			e, _, _ := autoEnv(t, d, clock)
			later := clock.Now().Add(time.Hour)

			t.Run("400", func(t *testing.T) {
				for _, c := range []struct {
					name string
					body any
					want []string
				}{
					{"Empty", map[string]any{}, []string{"body.contactName", "body.contactPhone", "body.scheduledTime", "body.title", "body.userId"}},
					{"NotJSON", `{"userId":`, nil},
					{"Phone", merge(scheduleBody("u1", later), map[string]any{"contactPhone": "0712 345"}), []string{"body.contactPhone"}},
					{"Time", merge(scheduleBody("u1", later), map[string]any{"scheduledTime": "tomorrow at 9"}), []string{"body.scheduledTime"}},
					{"Duration", merge(scheduleBody("u1", later), map[string]any{"durationMinutes": 0}), []string{"body.durationMinutes"}},
					{"DurationType", merge(scheduleBody("u1", later), map[string]any{"durationMinutes": "15"}), []string{"body.durationMinutes"}},
					{"Recording", merge(scheduleBody("u1", later), map[string]any{"recordingEnabled": "yes"}), []string{"body.recordingEnabled"}},
					{"Title", merge(scheduleBody("u1", later), map[string]any{"title": 7}), []string{"body.title"}},
					{"CallbackURL", merge(scheduleBody("u1", later), map[string]any{"callbackUrl": "ftp://example.com/x"}), []string{"body.callbackUrl"}},
					{"TimeZone", merge(scheduleBody("u1", later), map[string]any{"timeZone": "Mars/Olympus"}), []string{"body.timeZone"}},
					{"Simulate", merge(scheduleBody("u1", later), map[string]any{"simulate": map[string]any{"outcome": "maybe"}}), []string{"body.simulate.outcome"}},
				} {
					t.Run(c.name, func(t *testing.T) {
						r := e.do("POST", "/autocaller/calls/schedule", e.key, c.body)
						if c.want == nil {
							wantStatus(t, r, 400)
							return
						}
						if got := fieldLocs(t, r); strings.Join(got, " ") != strings.Join(c.want, " ") {
							t.Fatalf("400 names %v, want %v", got, c.want)
						}
					})
				}
				for _, path := range []string{"/autocaller/calls/x/status", "/autocaller/calls/x", "/autocaller/calls"} {
					if got := fieldLocs(t, e.do("GET", path, e.key, nil)); strings.Join(got, " ") != "query.userId" {
						t.Fatalf("GET %s without userId names %v", path, got)
					}
				}
				for _, path := range []string{"/autocaller/calls/x/start", "/autocaller/calls/x/end", "/autocaller/calls/x/cancel"} {
					if got := fieldLocs(t, e.do("POST", path, e.key, map[string]any{})); strings.Join(got, " ") != "body.userId" {
						t.Fatalf("POST %s without userId names %v", path, got)
					}
				}
				for q, loc := range map[string]string{"status=in_progress": "query.status", "limit=0": "query.limit", "offset=-1": "query.offset",
					"sortBy=name": "query.sortBy", "order=up": "query.order", "userid=u1": "query.userid"} {
					if got := fieldLocs(t, e.do("GET", "/autocaller/calls?userId=u1&"+q, e.key, nil)); strings.Join(got, " ") != loc {
						t.Fatalf("list ?%s names %v, want %s", q, got, loc)
					}
				}
			})

			t.Run("401", func(t *testing.T) {
				for _, key := range []string{"", "cs_not_a_key"} {
					wantStatus(t, e.do("POST", "/autocaller/calls/schedule", key, scheduleBody("u1", later)), 401)
					wantStatus(t, e.do("GET", "/autocaller/calls?userId=u1", key, nil), 401)
				}
			})

			r := e.do("POST", "/autocaller/calls/schedule", e.key, scheduleBody("u1", later))
			wantStatus(t, r, 201)
			id := r.json(t)["callId"].(string)

			t.Run("404", func(t *testing.T) {
				for _, u := range []string{"u2", "u1"} {
					ref := id
					if u == "u1" {
						ref = "call_unknown"
					}
					wantStatus(t, e.do("GET", "/autocaller/calls/"+ref+"/status?userId="+u, e.key, nil), 404)
					wantStatus(t, e.do("GET", "/autocaller/calls/"+ref+"?userId="+u, e.key, nil), 404)
					for _, op := range []string{"start", "end", "cancel"} {
						wantStatus(t, e.do("POST", "/autocaller/calls/"+ref+"/"+op, e.key, map[string]any{"userId": u}), 404)
					}
					wantStatus(t, e.do("DELETE", "/autocaller/calls/"+ref, e.key, map[string]any{"userId": u}), 404)
				}
				// Another user sees nothing of u1's calls.
				r := e.do("GET", "/autocaller/calls?userId=u2", e.key, nil)
				wantStatus(t, r, 200)
				if n := r.json(t)["totalCount"]; n != float64(0) {
					t.Fatalf("u2 lists %v calls", n)
				}
				// A call of the Call Sessions API is not an Auto-Caller call.
				wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "plain-1", "user_id": "u1"}), 201)
				wantStatus(t, e.do("GET", "/autocaller/calls/plain-1/status?userId=u1", e.key, nil), 404)
			})

			t.Run("409", func(t *testing.T) {
				wantStatus(t, e.do("POST", "/autocaller/calls/"+id+"/end", e.key, map[string]any{"userId": "u1"}), 409)
				r := e.do("POST", "/autocaller/calls/"+id+"/start", e.key, map[string]any{"userId": "u1"})
				wantStatus(t, r, 200)
				started := r.json(t)
				if started["status"] != "initiating" || started["startTime"] == nil {
					t.Fatalf("start answered %s", r.Body)
				}
				wantStatus(t, e.do("POST", "/autocaller/calls/"+id+"/start", e.key, map[string]any{"userId": "u1"}), 409)
				wantStatus(t, e.do("POST", "/autocaller/calls/"+id+"/cancel", e.key, map[string]any{"userId": "u1"}), 409)
				wantStatus(t, e.do("DELETE", "/autocaller/calls/"+id, e.key, map[string]any{"userId": "u1"}), 409)
				r = e.do("POST", "/autocaller/calls/"+id+"/end", e.key, map[string]any{"userId": "u1"})
				wantStatus(t, r, 200)
				if s := r.json(t)["status"]; s != "ending" && s != "completed" && s != "cancelled" {
					t.Fatalf("end answered %s", r.Body)
				}
				st := e.waitAutoStatus(t, id, "cancelled") // hung up before it rang
				if st["endTime"] == nil {
					t.Fatalf("ended call: %v", st)
				}
				wantStatus(t, e.do("POST", "/autocaller/calls/"+id+"/end", e.key, map[string]any{"userId": "u1"}), 409)
			})

			t.Run("Cancel", func(t *testing.T) {
				for i, how := range []string{"DELETE body", "DELETE query", "POST"} {
					r := e.do("POST", "/autocaller/calls/schedule", e.key, scheduleBody("u1", later.Add(time.Duration(i)*time.Minute)))
					wantStatus(t, r, 201)
					cid := r.json(t)["callId"].(string)
					switch how {
					case "DELETE body":
						r = e.do("DELETE", "/autocaller/calls/"+cid, e.key, map[string]any{"userId": "u1"})
					case "DELETE query":
						r = e.do("DELETE", "/autocaller/calls/"+cid+"?userId=u1", e.key, nil)
					default:
						r = e.do("POST", "/autocaller/calls/"+cid+"/cancel", e.key, map[string]any{"userId": "u1"})
					}
					wantStatus(t, r, 200)
					if r.json(t)["message"] != "Call cancelled successfully" {
						t.Fatalf("%s answered %s", how, r.Body)
					}
					if st := e.autoStatus(t, cid); st["status"] != "cancelled" {
						t.Fatalf("after %s: %v", how, st)
					}
					wantStatus(t, e.do("POST", "/autocaller/calls/"+cid+"/cancel", e.key, map[string]any{"userId": "u1"}), 409)
				}
				r := e.do("GET", "/autocaller/calls?userId=u1&status=cancelled&sortBy=scheduledTime&order=asc&limit=2&offset=1", e.key, nil)
				wantStatus(t, r, 200)
				var list struct {
					Calls      []map[string]any `json:"calls"`
					TotalCount int              `json:"totalCount"`
					Limit      int              `json:"limit"`
					Offset     int              `json:"offset"`
				}
				must(t, json.Unmarshal(r.Body, &list))
				if list.TotalCount != 4 || list.Limit != 2 || list.Offset != 1 || len(list.Calls) != 2 {
					t.Fatalf("list = %s", r.Body)
				}
				if a, b := list.Calls[0]["scheduledTime"].(string), list.Calls[1]["scheduledTime"].(string); a > b {
					t.Fatalf("list not in ascending scheduledTime: %s", r.Body)
				}
			})
		})
	}
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestAutocallerIdempotency sends one schedule with one Idempotency-Key 20
// times at once: one call exists, and every answer names it.
func TestAutocallerIdempotency(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			clock := &manualClock{now: time.Now().UTC()}
			e, _, _ := autoEnv(t, d, clock)
			body := scheduleBody("u1", clock.Now().Add(time.Hour))
			var wg sync.WaitGroup
			answers := make([]response, 20)
			for i := range answers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = e.do("POST", "/autocaller/calls/schedule", e.key, body, "Idempotency-Key", "order-4711")
				}()
			}
			wg.Wait()
			ids := map[string]int{}
			replays := 0
			for _, r := range answers {
				wantStatus(t, r, 201)
				ids[r.json(t)["callId"].(string)]++
				if r.Header.Get("Idempotent-Replayed") == "true" {
					replays++
				}
			}
			if len(ids) != 1 || replays != 19 {
				t.Fatalf("20 identical schedules made calls %v with %d replays, want one call and 19 replays", ids, replays)
			}
			r := e.do("GET", "/autocaller/calls?userId=u1", e.key, nil)
			wantStatus(t, r, 200)
			if n := r.json(t)["totalCount"]; n != float64(1) {
				t.Fatalf("the user has %v calls, want 1", n)
			}
			// The key with another request is a conflict; another user's key
			// is their own.
			wantStatus(t, e.do("POST", "/autocaller/calls/schedule", e.key, merge(body, map[string]any{"title": "Other"}),
				"Idempotency-Key", "order-4711"), 409)
			wantStatus(t, e.do("POST", "/autocaller/calls/schedule", e.key, scheduleBody("u2", clock.Now().Add(time.Hour)),
				"Idempotency-Key", "order-4711"), 201)
			// Start and cancel answer their first answer again.
			var id string
			for k := range ids {
				id = k
			}
			first := e.do("POST", "/autocaller/calls/"+id+"/start", e.key, map[string]any{"userId": "u1"}, "Idempotency-Key", "start-1")
			wantStatus(t, first, 200)
			again := e.do("POST", "/autocaller/calls/"+id+"/start", e.key, map[string]any{"userId": "u1"}, "Idempotency-Key", "start-1")
			wantStatus(t, again, 200)
			if a, b := first.json(t)["startTime"], again.json(t)["startTime"]; a != b || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replayed start %v, first %v", b, a)
			}
		})
	}
}
