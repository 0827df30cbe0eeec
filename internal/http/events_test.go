package http_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// sse is one Server-Sent Events stream being read.
type sse struct {
	t      *testing.T
	res    *http.Response
	cancel context.CancelFunc
	events chan sseEvent
}

type sseEvent struct {
	ID, Type string
	Data     map[string]any
}

// openSSE opens an event stream at path; hdr are header name/value pairs.
func openSSE(t *testing.T, e *env, path string, hdr ...string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+path, nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+e.key)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sse{t: t, res: res, cancel: cancel, events: make(chan sseEvent, 100)}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Type != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Type = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.Data)
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sse) close() { s.cancel(); s.res.Body.Close() }

// next returns the next event of one of types (others are skipped).
func (s *sse) next(types ...string) sseEvent {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream ended waiting for %v", types)
			}
			for _, typ := range types {
				if ev.Type == typ {
					return ev
				}
			}
		case <-timeout:
			s.t.Fatalf("no %v event within 10s", types)
		}
	}
}

func TestLiveEvents(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) { testLiveEvents(t, d) })
	}
}

func testLiveEvents(t *testing.T, d sqlstore.Dialect) {
	e := newEnv(t, d)
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "live-1", "processing_mode": "hybrid"}), 201)
	all := openSSE(t, e, "/api/v1/events")
	call := openSSE(t, e, "/api/v1/calls/live-1/events")

	// The call's stream starts with its history.
	created := call.next("call.created")
	if created.Data["call_id"] != "live-1" || created.Data["type"] != "call.created" {
		t.Fatalf("call.created = %+v", created.Data)
	}

	// Another tenant's events are not in this tenant's stream.
	wantStatus(t, e.do("POST", "/api/v1/calls", otherKey(t, e), map[string]any{"call_id": "theirs"}), 201)

	wantStatus(t, e.do("POST", "/api/v1/calls/live-1/segments", e.key, map[string]any{"segments": []map[string]any{
		{"speaker": "caller", "text": "hello I need help", "start_time": 0.5, "end_time": 2.0}}}), 200)
	seg := call.next("transcript.segment")
	segs := seg.Data["data"].(map[string]any)["segments"].([]any)
	if len(segs) != 1 || segs[0].(map[string]any)["text"] != "hello I need help" {
		t.Fatalf("segment event = %+v", seg.Data)
	}
	// The tenant stream may begin with live-1's call.created, committed
	// as it opened; never with the other tenant's.
	got := all.next("transcript.segment", "call.created")
	if got.Type == "call.created" && got.Data["call_id"] == "live-1" {
		got = all.next("transcript.segment", "call.created")
	}
	if got.Type != "transcript.segment" || got.ID != seg.ID {
		t.Fatalf("tenant stream: %s %v, want the segment %s", got.Type, got.Data, seg.ID)
	}

	wantStatus(t, e.do("POST", "/api/v1/calls/live-1/end", e.key, nil), 200)
	ended := call.next("call.completed")
	if ended.Data["call_id"] != "live-1" {
		t.Fatalf("call.completed = %+v", ended.Data)
	}

	// Resuming after the segment gives what came after it, and only that.
	again := openSSE(t, e, "/api/v1/calls/live-1/events", "Last-Event-ID", seg.ID)
	if got := again.next("call.created", "transcript.segment", "call.completed"); got.ID != ended.ID {
		t.Fatalf("resumed after %s: got %s %s, want call.completed %s", seg.ID, got.Type, got.ID, ended.ID)
	}
	byParam := openSSE(t, e, "/api/v1/calls/live-1/events?last_event_id="+created.ID)
	if got := byParam.next("call.created", "transcript.segment"); got.ID != seg.ID {
		t.Fatalf("resumed by parameter: got %s", got.Type)
	}

	wantStatus(t, e.do("GET", "/api/v1/calls/theirs/events", e.key, nil), 404)
	wantStatus(t, e.do("GET", "/api/v1/calls/nope/events", e.key, nil), 404)
	r := e.do("GET", "/api/v1/events", e.key, nil, "Last-Event-ID", "42")
	wantStatus(t, r, 422)
	if !strings.Contains(string(r.Body), "Last-Event-ID") {
		t.Fatalf("bad Last-Event-ID: %s", r.Body)
	}
	wantStatus(t, e.do("GET", "/api/v1/events?since=1", e.key, nil), 422)
}
