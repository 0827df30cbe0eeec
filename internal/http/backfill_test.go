package http_test

import (
	"context"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// backfillCalls stores n calls with transcripts (and one without, which a
// backfill skips) and returns their ids.
func backfillCalls(t *testing.T, e *env, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		ids = append(ids, mkConsoleCall(t, e, e.tenant.ID, true).ID)
	}
	mkConsoleCall(t, e, e.tenant.ID, false)
	return ids
}

func getBackfill(t *testing.T, e *env, analyzerID, id string) map[string]any {
	t.Helper()
	r := e.do("GET", "/api/analyzers/"+analyzerID+"/backfills/"+id, e.key, nil)
	wantStatus(t, r, 200)
	return r.json(t)
}

// runsPerCall counts the analyzer's runs on each call.
func runsPerCall(t *testing.T, e *env, analyzerID string, calls []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, c := range calls {
		for _, r := range runsOf(t, e, c) {
			if r.AnalyzerID == analyzerID {
				out[c]++
			}
		}
	}
	return out
}

func TestBackfill(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			calls := backfillCalls(t, e, 7)
			a := createAnalyzer(t, e, map[string]any{"name": "Refunds", "kind": "builtin", "prompt": "keywords: refund", "active": false})
			aid := a["id"].(string)

			r := e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, map[string]any{})
			wantStatus(t, r, 202)
			b := r.json(t)
			wantExactKeys(t, "Backfill", b, "id", "analyzer_id", "status", "filter", "total", "done", "failed_count", "percent",
				"last_error", "created_at", "started_at", "finished_at", "cancelled_at")
			if b["status"] != "queued" || b["total"] != float64(7) || b["analyzer_id"] != aid {
				t.Fatalf("backfill = %s", r.Body)
			}
			bid := b["id"].(string)
			waitFor(t, "the backfill to complete", func() bool { return getBackfill(t, e, aid, bid)["status"] == "completed" })
			b = getBackfill(t, e, aid, bid)
			if b["done"] != float64(7) || b["failed_count"] != float64(0) || b["percent"] != float64(100) ||
				b["started_at"] == nil || b["finished_at"] == nil || b["cancelled_at"] != nil {
				t.Fatalf("completed backfill = %v", b)
			}
			for c, n := range runsPerCall(t, e, aid, calls) {
				if n != 1 {
					t.Fatalf("call %s has %d runs", c, n)
				}
			}
			if got := runsPerCall(t, e, aid, calls); len(got) != 7 {
				t.Fatalf("runs on %d calls, want 7", len(got))
			}

			t.Run("Filter", func(t *testing.T) {
				r := e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, map[string]any{"limit": 3, "status": []string{"completed"},
					"from": "2000-01-01T00:00:00Z", "to": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
				wantStatus(t, r, 202)
				b := r.json(t)
				if b["total"] != float64(3) || b["filter"].(map[string]any)["limit"] != float64(3) {
					t.Fatalf("filtered backfill = %s", r.Body)
				}
				id := b["id"].(string)
				waitFor(t, "the filtered backfill", func() bool { return getBackfill(t, e, aid, id)["status"] == "completed" })
				if got := getBackfill(t, e, aid, id); got["done"] != float64(3) {
					t.Fatalf("filtered backfill = %v", got)
				}
				// The three newest calls got a second run, the others not.
				per := runsPerCall(t, e, aid, calls)
				for i, c := range calls {
					want := 1
					if i >= len(calls)-3 {
						want = 2
					}
					if per[c] != want {
						t.Fatalf("call %d has %d runs, want %d", i, per[c], want)
					}
				}
				r = e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, map[string]any{"status": []string{"failed"}})
				wantStatus(t, r, 202)
				if r.json(t)["total"] != float64(0) {
					t.Fatalf("no failed calls, yet %s", r.Body)
				}
			})
			t.Run("ErrInvalid", func(t *testing.T) {
				p := "/api/analyzers/" + aid + "/backfill"
				wantField(t, e.do("POST", p, e.key, map[string]any{"from": "yesterday"}), "body", "from")
				wantField(t, e.do("POST", p, e.key, map[string]any{"from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}), "body", "to")
				wantField(t, e.do("POST", p, e.key, map[string]any{"status": []string{"done"}}), "body", "status", "0")
				wantField(t, e.do("POST", p, e.key, map[string]any{"limit": 0}), "body", "limit")
			})
			t.Run("List", func(t *testing.T) {
				r := e.do("GET", "/api/analyzers/"+aid+"/backfills", e.key, nil)
				wantStatus(t, r, 200)
				l := r.list(t)
				if len(l) != 3 || l[2]["id"] != bid {
					t.Fatalf("backfills = %s", r.Body)
				}
			})
			t.Run("ErrConflict/CancelFinished", func(t *testing.T) {
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+aid+"/backfills/"+bid, e.key, nil), 409)
			})
			t.Run("ErrNotFound", func(t *testing.T) {
				other := createAnalyzer(t, e, map[string]any{"name": "Other", "kind": "builtin", "prompt": "qa"})
				wantStatus(t, e.do("GET", "/api/analyzers/"+other["id"].(string)+"/backfills/"+bid, e.key, nil), 404)
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+other["id"].(string)+"/backfills/"+bid, e.key, nil), 404)
				wantStatus(t, e.do("GET", "/api/analyzers/"+aid+"/backfills/nope", e.key, nil), 404)
				wantStatus(t, e.do("POST", "/api/analyzers/nope/backfill", e.key, map[string]any{}), 404)
				ok := otherKey(t, e)
				wantStatus(t, e.do("GET", "/api/analyzers/"+aid+"/backfills/"+bid, ok, nil), 404)
				wantStatus(t, e.do("DELETE", "/api/analyzers/"+aid+"/backfills/"+bid, ok, nil), 404)
			})
		})
	}
}

// TestBackfillCancel cancels a backfill while a call is being analysed:
// that call's run is dropped and no further call is analysed.
func TestBackfillCancel(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			g := newGate(3)
			q := swapQueue(t, e, g.For)
			calls := backfillCalls(t, e, 10)
			aid := createAnalyzer(t, e, map[string]any{"name": "Summary", "kind": "builtin", "prompt": "summary"})["id"].(string)
			r := e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, nil)
			wantStatus(t, r, 202)
			bid := r.json(t)["id"].(string)
			select {
			case <-g.blocked:
			case <-time.After(30 * time.Second):
				t.Fatal("the backfill never reached its fourth call")
			}
			b := getBackfill(t, e, aid, bid)
			if b["status"] != "running" || b["done"] != float64(3) || b["percent"] != float64(30) {
				t.Fatalf("running backfill = %v", b)
			}
			r = e.do("DELETE", "/api/analyzers/"+aid+"/backfills/"+bid, e.key, nil)
			wantStatus(t, r, 200)
			if m := r.json(t); m["status"] != "cancelled" || m["cancelled_at"] == nil {
				t.Fatalf("cancel = %s", r.Body)
			}
			close(g.release)
			stop, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			must(t, q.Stop(stop)) // waits for the job to return
			b = getBackfill(t, e, aid, bid)
			if b["status"] != "cancelled" || b["done"] != float64(3) {
				t.Fatalf("cancelled backfill = %v", b)
			}
			if n := len(runsPerCall(t, e, aid, calls)); n != 3 {
				t.Fatalf("%d calls got runs, want 3", n)
			}
			if n := g.count(); n != 4 {
				t.Fatalf("engine ran %d times after the cancel, want 4 in all", n)
			}
			wantStatus(t, e.do("DELETE", "/api/analyzers/"+aid+"/backfills/"+bid, e.key, nil), 409)
		})
	}
}

// TestBackfillResume stops the worker process mid-backfill and starts
// another: it picks up after the last call finished, and no call gets two
// runs.
func TestBackfillResume(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			g := newGate(5)
			q := swapQueue(t, e, g.For)
			calls := backfillCalls(t, e, 9)
			aid := createAnalyzer(t, e, map[string]any{"name": "Summary", "kind": "builtin", "prompt": "summary"})["id"].(string)
			r := e.do("POST", "/api/analyzers/"+aid+"/backfill", e.key, nil)
			wantStatus(t, r, 202)
			bid := r.json(t)["id"].(string)
			select {
			case <-g.blocked:
			case <-time.After(30 * time.Second):
				t.Fatal("the backfill never reached its sixth call")
			}
			// Stop the process: the call in progress is abandoned.
			stop, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			q.Stop(stop)
			cancel()
			b := getBackfill(t, e, aid, bid)
			if b["status"] != "running" || b["done"] != float64(5) {
				t.Fatalf("stopped backfill = %v", b)
			}

			again := newGate(-1)
			swapQueue(t, e, again.For)
			waitFor(t, "the resumed backfill", func() bool { return getBackfill(t, e, aid, bid)["status"] == "completed" })
			b = getBackfill(t, e, aid, bid)
			if b["done"] != float64(9) || b["failed_count"] != float64(0) {
				t.Fatalf("resumed backfill = %v", b)
			}
			if n := again.count(); n != 4 {
				t.Fatalf("the restarted worker analysed %d calls, want the 4 left", n)
			}
			per := runsPerCall(t, e, aid, calls)
			if len(per) != 9 {
				t.Fatalf("runs on %d calls, want 9", len(per))
			}
			for c, n := range per {
				if n != 1 {
					t.Fatalf("call %s has %d runs", c, n)
				}
			}
		})
	}
}
