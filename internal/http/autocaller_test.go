package http_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/dial"
	"github.com/callscope/callscope/internal/egress"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// addAutocallerWorkers registers the placing workers of an engine whose
// call service and dialer autocallerFor sets once they exist.
func addAutocallerWorkers(w *river.Workers) *dial.Engine {
	e := &dial.Engine{DialerName: "simulator"}
	e.AddWorkers(w)
	return e
}

// autocallerFor completes the engine with the call service and a simulator
// whose calls take no time (tests that watch a call go give it another
// clock).
func autocallerFor(e *dial.Engine, calls *call.Service, recs blob.Store, cb *deliver.Callbacks) (cshttp.Outbound, cshttp.CallbackService) {
	e.Calls = calls
	e.Dialer = &dial.Simulator{Events: &dial.Reporter{Calls: calls, Recordings: recs}, Clock: &manualClock{now: time.Now(), instant: true}}
	return e, cb
}

// manualClock is the simulator's and the call service's clock in tests:
// time moves only when the test advances it (or, instant, whenever
// something waits).
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	instant bool
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if c.instant {
		c.now = c.now.Add(d)
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock on by d, waking what waited that long.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// waitWaiter waits until something waits on the clock.
func (c *manualClock) waitWaiter(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := len(c.waiters)
		c.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("nothing waits on the clock")
}

// receiver is a callback endpoint that keeps what it was sent.
type receiver struct {
	mu   sync.Mutex
	got  []received
	srv  *httptest.Server
	fail int // answer 500 this many times first
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rv := &receiver{}
	rv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rv.mu.Lock()
		defer rv.mu.Unlock()
		if rv.fail > 0 {
			rv.fail--
			w.WriteHeader(500)
			return
		}
		rv.got = append(rv.got, received{r.Header.Clone(), b})
	}))
	t.Cleanup(rv.srv.Close)
	return rv
}

func (rv *receiver) events() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]received(nil), rv.got...)
}

func (rv *receiver) waitFor(t *testing.T, eventType string) received {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range rv.events() {
			var m map[string]any
			if json.Unmarshal(r.body, &m) == nil && m["eventType"] == eventType {
				return r
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s callback; got %d callbacks", eventType, len(rv.events()))
	return received{}
}

// autoEnv is a server with the Auto-Caller API, a clock the test moves,
// the pipeline working, and a callback secret.
func autoEnv(t *testing.T, d sqlstore.Dialect, clock *manualClock) (*env, string, string) {
	t.Helper()
	e := newPipelineEnv(t, d, func(s *cshttp.Server) {
		s.Egress = egress.Policy{AllowPrivate: true}
		if clock != nil {
			s.Calls.Now = clock.Now
			s.Outbound.(*dial.Engine).Dialer.(*dial.Simulator).Clock = clock
		}
	})
	r := e.do("POST", "/autocaller/callback-secret", e.key, nil)
	wantStatus(t, r, 201)
	sec := r.json(t)
	return e, sec["callbackToken"].(string), sec["signingSecret"].(string)
}

func (e *env) autoStatus(t *testing.T, id string) map[string]any {
	t.Helper()
	r := e.do("GET", "/autocaller/calls/"+id+"/status?userId=u1", e.key, nil)
	wantStatus(t, r, 200)
	return r.json(t)
}

func (e *env) waitAutoStatus(t *testing.T, id, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := e.autoStatus(t, id)
		if st["status"] == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s: status %v, want %s", id, st, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAutocallerFlow drives seed 002 end to end: a call is scheduled, placed
// when the clock reaches its time (not before), rings, is answered, talks
// and completes; its details carry the recording URL, the transcript and
// the summary; the callback receiver gets recording.ready,
// transcription.ready and call.completed, each with the tenant's token and
// a Standard Webhooks signature that verifies.
func TestAutocallerFlow(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			clock := &manualClock{now: time.Now().UTC().Truncate(time.Second)}
			e, token, signing := autoEnv(t, d, clock)
			rv := newReceiver(t)
			rv.fail = 1 // the first callback is retried
			due := clock.Now().Add(3 * time.Second)
			body := map[string]any{"userId": "u1", "title": "Renewal call", "contactName": "Ada Lovelace", "contactPhone": "+14155550101",
				"scheduledTime": due.Format(time.RFC3339), "purpose": "the subscription renewal",
				"aiScriptTemplate": "Hello {{contactName}}, I am calling about {{purpose}}. Shall we renew it today?",
				"callbackUrl":      rv.srv.URL + "/hook", "simulate": map[string]any{"outcome": "answer", "ringSeconds": 1, "talkSeconds": 20}}
			r := e.do("POST", "/autocaller/calls/schedule", e.key, body)
			wantStatus(t, r, 201)
			created := r.json(t)
			id := created["callId"].(string)
			if created["status"] != "scheduled" || created["scheduledTime"] != due.Format("2006-01-02T15:04:05.000Z") {
				t.Fatalf("schedule answered %s", r.Body)
			}
			// Not placed before its time on the clock, even once its job ran.
			time.Sleep(time.Second)
			if st := e.autoStatus(t, id); st["status"] != "scheduled" {
				t.Fatalf("placed early: %v", st)
			}
			clock.Advance(3 * time.Second)
			clock.waitWaiter(t) // the simulator is dialling
			if st := e.autoStatus(t, id); st["status"] != "initiating" {
				t.Fatalf("after its time: %v, want initiating", st)
			}
			clock.Advance(200 * time.Millisecond)
			e.waitAutoStatus(t, id, "ringing")
			clock.waitWaiter(t)
			clock.Advance(time.Second)
			st := e.waitAutoStatus(t, id, "in-progress")
			sd := st["sessionDetails"].(map[string]any)
			if !strings.HasPrefix(fmt.Sprint(sd["providerSessionId"]), "sim_") || st["startTime"] == nil {
				t.Fatalf("in progress: %v", st)
			}
			// Halfway through, the status shows what was said so far.
			clock.waitWaiter(t)
			clock.Advance(8 * time.Second)
			clock.waitWaiter(t)
			st = e.autoStatus(t, id)
			snips, _ := st["sessionDetails"].(map[string]any)["transcriptSnippets"].([]any)
			if st["status"] != "in-progress" || len(snips) == 0 {
				t.Fatalf("in progress after 8 s: %v", st)
			}
			clock.Advance(12 * time.Second)
			st = e.waitAutoStatus(t, id, "completed")
			if st["durationSeconds"] != float64(20) || st["endTime"] == nil {
				t.Fatalf("completed: %v", st)
			}
			// Details, once the pipeline has summarised the call.
			var det map[string]any
			deadline := time.Now().Add(30 * time.Second)
			for {
				r = e.do("GET", "/autocaller/calls/"+id+"?userId=u1", e.key, nil)
				wantStatus(t, r, 200)
				det = r.json(t)
				if det["aiSummary"] != nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, k := range []string{"recordingUrl", "transcriptionText", "aiSummary", "cost"} {
				if det[k] == nil || det[k] == "" {
					t.Fatalf("details lack %s: %v", k, det)
				}
			}
			if det["userId"] != "u1" || det["contactPhone"] != "+14155550101" || det["status"] != "completed" ||
				!strings.Contains(det["transcriptionText"].(string), "Hello Ada Lovelace, I am calling about the subscription renewal.") {
				t.Fatalf("details: %v", det)
			}
			rec, err := http.Get(det["recordingUrl"].(string))
			must(t, err)
			audio, _ := io.ReadAll(rec.Body)
			rec.Body.Close()
			if rec.StatusCode != 200 || !strings.HasPrefix(string(audio), "RIFF") {
				t.Fatalf("recordingUrl answered %d, %d bytes", rec.StatusCode, len(audio))
			}
			// Callbacks.
			wh, err := standardwebhooks.NewWebhook(signing)
			must(t, err)
			var order []string
			for _, typ := range []string{"recording.ready", "transcription.ready", "call.completed"} {
				cb := rv.waitFor(t, typ)
				if cb.header.Get("X-Callback-Token") != token {
					t.Fatalf("%s callback token = %q", typ, cb.header.Get("X-Callback-Token"))
				}
				if err := wh.Verify(cb.body, cb.header); err != nil {
					t.Fatalf("%s signature does not verify: %v", typ, err)
				}
				var m map[string]any
				must(t, json.Unmarshal(cb.body, &m))
				if m["callId"] != id || m["timestamp"] == nil || m["data"] == nil {
					t.Fatalf("%s body: %s", typ, cb.body)
				}
				order = append(order, cb.header.Get("webhook-id"))
			}
			// In order of causality: the event ids are time-ordered.
			if !(order[0] < order[1] && order[1] < order[2]) {
				t.Fatalf("callbacks out of causal order: %v", order)
			}
			rv.waitFor(t, "call.status")
			// The delivery log shows each callback with its attempts (the
			// first was answered 500, then retried); one can be sent again.
			r = e.do("GET", "/autocaller/calls/"+id+"/callbacks?userId=u1", e.key, nil)
			wantStatus(t, r, 200)
			var log struct {
				Deliveries []struct {
					ID           string `json:"id"`
					MessageID    string `json:"message_id"`
					Status       string `json:"status"`
					AttemptCount int    `json:"attempt_count"`
				} `json:"deliveries"`
			}
			must(t, json.Unmarshal(r.Body, &log))
			retried := 0
			for _, d := range log.Deliveries {
				if d.AttemptCount > 1 {
					retried++
				}
			}
			if len(log.Deliveries) < 4 || retried != 1 {
				t.Fatalf("callback log: %s", r.Body)
			}
			wantStatus(t, e.do("GET", "/autocaller/calls/"+id+"/callbacks?userId=u2", e.key, nil), 404)
			last := log.Deliveries[len(log.Deliveries)-1]
			for last.Status == "pending" {
				time.Sleep(50 * time.Millisecond)
				r = e.do("GET", "/autocaller/calls/"+id+"/callbacks?userId=u1", e.key, nil)
				must(t, json.Unmarshal(r.Body, &log))
				last = log.Deliveries[len(log.Deliveries)-1]
			}
			before := len(rv.events())
			r = e.do("POST", "/autocaller/calls/"+id+"/callbacks/"+last.ID+"/replay", e.key, map[string]any{"userId": "u1"})
			wantStatus(t, r, 202)
			wantStatus(t, e.do("POST", "/autocaller/calls/"+id+"/callbacks/nope/replay", e.key, map[string]any{"userId": "u1"}), 404)
			deadline = time.Now().Add(20 * time.Second)
			for len(rv.events()) == before {
				if time.Now().After(deadline) {
					t.Fatal("the replayed callback never arrived")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if got := rv.events()[before]; got.header.Get("webhook-id") != last.MessageID {
				t.Fatalf("replay webhook-id %q, want %q", got.header.Get("webhook-id"), last.MessageID)
			}
		})
	}
}
