package dial_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/dial"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// stepClock is a simulator clock on which waiting takes no time: each wait
// moves it on by what was waited.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.t = c.t.Add(d)
	now := c.t
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

// countingDialer counts dials and, unless it wraps another dialer, leaves
// calls ringing for ever.
type countingDialer struct {
	next  dial.Dialer
	dials atomic.Int64
	hangs atomic.Int64
}

func (d *countingDialer) Dial(ctx context.Context, req dial.Request) (string, error) {
	d.dials.Add(1)
	if d.next != nil {
		return d.next.Dial(ctx, req)
	}
	return "fake_" + req.CallID, nil
}

func (d *countingDialer) Hangup(ctx context.Context, id string) error {
	d.hangs.Add(1)
	if d.next != nil {
		return d.next.Hangup(ctx, id)
	}
	return callscope.Errorf(callscope.ENOTFOUND, "unknown")
}

type harness struct {
	store  *sqlstore.Store
	calls  *call.Service
	engine *dial.Engine
	dialer *countingDialer
	sim    *dial.Simulator
	tenant *callscope.Tenant
}

func newHarness(t testing.TB, s *sqlstore.Store, simulate bool) *harness {
	t.Helper()
	must(t, job.Migrate(ctx, s))
	h := &harness{store: s, tenant: sqlstoretest.MustTenant(t, s)}
	h.calls = &call.Service{Store: s, ProcessingEnabled: true, Stages: pipeline.Stages}
	h.dialer = &countingDialer{}
	if simulate {
		h.sim = &dial.Simulator{Events: &dial.Reporter{Calls: h.calls, Recordings: blob.Dir{Root: t.TempDir()}},
			Clock: &stepClock{t: time.Now()}}
		h.dialer.next = h.sim
	}
	h.engine = &dial.Engine{Calls: h.calls, Dialer: h.dialer, DialerName: "simulator"}
	workers := river.NewWorkers()
	h.engine.AddWorkers(workers)
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "processing is not worked in this test",
		func(a pipeline.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "campaigns are not worked in this test",
		func(a job.CampaignReconcileArgs) (string, string) { return a.TenantID, "" }))
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "CRM pushes are not worked in this test",
		func(a deliver.CRMPushArgs) (string, string) { return a.TenantID, a.CallID }))
	q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond})
	must(t, err)
	h.calls.Queue = q
	must(t, q.Start(ctx))
	t.Cleanup(func() {
		if h.sim != nil {
			h.sim.Wait()
		}
		q.Stop(ctx)
	})
	return h
}

func (h *harness) schedule(t testing.TB, to string, at time.Time, provider map[string]json.RawMessage) *call.ScheduleAnswer {
	t.Helper()
	c := &callscope.Call{TenantID: h.tenant.ID, UserID: "user-1", To: to, ContactName: "Ada Lovelace", Title: "Renewal",
		Purpose: "your subscription renewal", Script: "Hello {{contactName}}, I am calling about {{purpose}}. Shall we renew it today?",
		ScheduledAt: &at}
	o := &callscope.OutboundCall{TenantID: h.tenant.ID, DurationMinutes: 15, RecordingEnabled: true, TranscriptionEnabled: true, Provider: provider}
	ans, _, err := h.calls.Schedule(ctx, c, o, call.Idempotency{})
	must(t, err)
	return ans
}

func (h *harness) waitFor(t testing.TB, ref string, ok func(o *callscope.OutboundCall) bool) *callscope.OutboundCall {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		o, err := h.store.OutboundCall(ctx, h.tenant.ID, ref)
		must(t, err)
		if ok(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s: condition not met; status %s, waiting %q", ref, o.Call.Status, o.Waiting)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func final(o *callscope.OutboundCall) bool { return o.Call.Status.Final() }

func simulate(outcome string, ring, talk float64) map[string]json.RawMessage {
	b, _ := json.Marshal(map[string]any{"outcome": outcome, "ringSeconds": ring, "talkSeconds": talk})
	return map[string]json.RawMessage{"simulate": b}
}

func TestSimulatedCall(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, true)
		due := time.Now().Add(300 * time.Millisecond)
		ans := h.schedule(t, "+14155550101", due, nil)
		if ans.Status != "scheduled" || !strings.HasPrefix(ans.CallID, "call_") {
			t.Fatalf("schedule answer = %+v", ans)
		}
		o := h.waitFor(t, ans.CallID, final)
		c := o.Call
		if c.Status != callscope.CallCompleted || o.PlacedAt == nil || o.PlacedAt.Before(due) || o.Dialer != "simulator" ||
			!strings.HasPrefix(o.ProviderSessionID, "sim_") || o.Cost == nil || c.AnsweredAt == nil || c.DurationSeconds <= 0 {
			t.Fatalf("call after simulation: %+v / %+v", o, c)
		}
		if h.dialer.dials.Load() != 1 {
			t.Fatalf("dialled %d times, want 1", h.dialer.dials.Load())
		}
		segs, err := s.Segments(ctx, c.ID)
		must(t, err)
		text := ""
		for _, sg := range segs {
			text += sg.Text + " "
		}
		if !strings.Contains(text, "Hello Ada Lovelace, I am calling about your subscription renewal.") {
			t.Fatalf("transcript does not speak the script: %q", text)
		}
		recs, err := s.Recordings(ctx, c.ID)
		must(t, err)
		if len(recs) != 1 || recs[0].AccessToken == "" || recs[0].DurationSeconds <= 0 {
			t.Fatalf("recordings = %+v", recs)
		}
		events, err := s.Events(ctx, h.tenant.ID, c.ID)
		must(t, err)
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
		}
		want := "call.created call.started recording.ready transcription.ready call.completed"
		if strings.Join(types, " ") != want {
			t.Fatalf("events = %v, want %s", types, want)
		}
		n, err := s.OutboundLinesInUse(ctx, h.tenant.ID, time.Now())
		must(t, err)
		if n != 0 {
			t.Fatalf("%d lines still in use after the call ended", n)
		}
	})
}

func TestSimulatedOutcomes(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, true)
		for _, tc := range []struct {
			to       string
			provider map[string]json.RawMessage
			want     callscope.CallStatus
			auto     string
		}{
			{"+14155550107", nil, callscope.CallBusy, "failed"},
			{"+14155550108", nil, callscope.CallNoAnswer, "failed"},
			{"+14155550109", nil, callscope.CallVoicemail, "completed"},
			{"+14155550106", nil, callscope.CallFailed, "failed"},
			{"+14155550107", simulate("answer", 0.5, 2), callscope.CallCompleted, "completed"},
		} {
			ans := h.schedule(t, tc.to, time.Now(), tc.provider)
			o := h.waitFor(t, ans.CallID, final)
			if o.Call.Status != tc.want || callscope.AutoStatus(o.Call.Status) != tc.auto {
				t.Errorf("%s %s: status %s, want %s", tc.to, tc.provider["simulate"], o.Call.Status, tc.want)
			}
			if tc.auto == "failed" && o.Call.ErrorInfo == "" {
				t.Errorf("%s: failed without error info", tc.to)
			}
		}
	})
}

// TestPlaceOnce runs the placing of one call twice: it is dialled once.
func TestPlaceOnce(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, false)
		ans := h.schedule(t, "+14155550101", time.Now().Add(time.Hour), nil)
		o, err := s.OutboundCall(ctx, h.tenant.ID, ans.CallID)
		must(t, err)
		h.calls.Now = func() time.Time { return time.Now().Add(time.Hour) }
		var dials atomic.Int64
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := h.calls.Place(ctx, h.tenant.ID, o.CallID)
				if err != nil {
					t.Error(err)
					return
				}
				if p.Dial {
					dials.Add(1)
				}
			}()
		}
		wg.Wait()
		if dials.Load() != 1 {
			t.Fatalf("placed %d times, want once", dials.Load())
		}
	})
}

func TestLineLimit(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, false)
		set := callscope.SettingsOf(map[string]any{"autocaller": map[string]any{"max_concurrent_calls": 2}})
		_, err := s.UpdateTenant(ctx, h.tenant.ID, callscope.TenantUpdate{Settings: &set})
		must(t, err)
		var refs []string
		for range 5 {
			refs = append(refs, h.schedule(t, "+14155550101", time.Now(), nil).CallID)
		}
		deadline := time.Now().Add(10 * time.Second)
		for h.dialer.dials.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // several retries of the waiting calls
		if n := h.dialer.dials.Load(); n != 2 {
			t.Fatalf("dialled %d calls with 2 lines, want 2", n)
		}
		var placed []string
		waiting := 0
		for _, ref := range refs {
			o, err := s.OutboundCall(ctx, h.tenant.ID, ref)
			must(t, err)
			switch {
			case o.Call.Status == callscope.CallInitiating:
				placed = append(placed, ref)
			case o.Call.Status == callscope.CallScheduled && o.Waiting == "waiting for a free line: all lines are in use":
				waiting++
			default:
				t.Fatalf("call %s: status %s, waiting %q", ref, o.Call.Status, o.Waiting)
			}
		}
		if waiting != 3 {
			t.Fatalf("%d calls waiting for a line, want 3", waiting)
		}
		// Ending a call frees its line for the next.
		_, _, err = h.calls.SetStatus(ctx, h.tenant.ID, placed[0], call.StatusChange{Status: callscope.CallCompleted})
		must(t, err)
		for h.dialer.dials.Load() < 3 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := h.dialer.dials.Load(); n != 3 {
			t.Fatalf("dialled %d calls after a line was freed, want 3", n)
		}
	})
}

func TestCallingWindow(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, false)
		set := callscope.SettingsOf(map[string]any{"autocaller": map[string]any{"time_zone": "Europe/Paris",
			"calling_window": map[string]any{"start": "09:00", "end": "17:00"}}})
		_, err := s.UpdateTenant(ctx, h.tenant.ID, callscope.TenantUpdate{Settings: &set})
		must(t, err)
		// Saturday 28 March 2026, 18:00 in Paris; the clocks go forward that
		// night, so the window opens at 07:00 UTC.
		now := time.Date(2026, 3, 28, 17, 0, 0, 0, time.UTC)
		h.calls.Now = func() time.Time { return now }
		ans := h.schedule(t, "+33155550101", now, nil)
		p, err := h.calls.Place(ctx, h.tenant.ID, ans.CallID)
		must(t, err)
		if p.Dial || !strings.Contains(p.Outbound.Waiting, "outside the calling window: waiting until 2026-03-29T09:00:00+02:00") {
			t.Fatalf("placement outside the window: dial %v, waiting %q", p.Dial, p.Outbound.Waiting)
		}
		now = time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)
		// Placed now, by this call or by the call's own job running at the
		// same moment.
		_, err = h.calls.Place(ctx, h.tenant.ID, ans.CallID)
		must(t, err)
		o := h.waitFor(t, ans.CallID, func(o *callscope.OutboundCall) bool { return o.Call.Status == callscope.CallInitiating })
		if o.Waiting != "" || o.Attempts != 1 {
			t.Fatalf("placement in the window: waiting %q, %d attempts", o.Waiting, o.Attempts)
		}
	})
}

// TestPlaceOverdue: a call whose placing job has not run by its time is
// queued again by the backstop, once however often it looks, and placed.
func TestPlaceOverdue(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, false)
		at := time.Now().Add(time.Hour)
		ans := h.schedule(t, "+14155550101", at, nil)
		h.calls.Now = func() time.Time { return at.Add(10 * time.Second) }
		for range 3 {
			n, err := h.calls.PlaceOverdue(ctx, 2*time.Second, 100)
			must(t, err)
			if n != 1 {
				t.Fatalf("found %d overdue calls, want 1", n)
			}
		}
		h.waitFor(t, ans.CallID, func(o *callscope.OutboundCall) bool { return o.Call.Status == callscope.CallInitiating })
		// The dialer is called once the placing has committed: a moment
		// after the call shows initiating.
		for deadline := time.Now().Add(5 * time.Second); h.dialer.dials.Load() == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // and never a second time
		if n := h.dialer.dials.Load(); n != 1 {
			t.Fatalf("dialled %d times, want 1", n)
		}
		n, err := h.calls.PlaceOverdue(ctx, 2*time.Second, 100)
		must(t, err)
		if n != 0 {
			t.Fatalf("a placed call is still overdue")
		}
	})
}
