package campaign_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/campaign"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/dial"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
	"github.com/callscope/callscope/internal/voicebot"
)

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// virtualClock is the time of the call service: it stands still while
// calls are made, and the test moves it on to the next thing due when
// nothing is in progress.
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// simClock is the simulator's time: the service's, plus what its calls
// have waited. Waiting moves it on by what was waited, after a moment of
// real time so that calls overlap.
type simClock struct {
	v   *virtualClock
	mu  sync.Mutex
	off time.Duration
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v.Now().Add(c.off)
}

func (c *simClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
	return time.After(5 * time.Millisecond)
}

// advance moves the clock on to t, if t is later.
func (c *virtualClock) advance(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// watchingDialer dials through the simulator and watches what it is asked
// to do: the numbers dialled and how many calls were in progress at once.
type watchingDialer struct {
	next dial.Dialer

	mu      sync.Mutex
	dialled map[string]int
	active  map[string]bool
	maxSeen int
	dials   atomic.Int64
}

func (d *watchingDialer) Dial(ctx context.Context, req dial.Request) (string, error) {
	d.dials.Add(1)
	d.mu.Lock()
	d.dialled[req.To]++
	d.active[req.CallID] = true
	d.maxSeen = max(d.maxSeen, len(d.active))
	d.mu.Unlock()
	return d.next.Dial(ctx, req)
}

func (d *watchingDialer) Hangup(ctx context.Context, id string) error { return d.next.Hangup(ctx, id) }

// watchingEvents passes the simulator's reports on and sees calls end.
type watchingEvents struct {
	dial.Events
	d *watchingDialer
}

func (e watchingEvents) Status(ctx context.Context, tenantID, callID string, ch call.StatusChange) error {
	if ch.Status.Final() {
		e.d.mu.Lock()
		delete(e.d.active, callID)
		e.d.mu.Unlock()
	}
	return e.Events.Status(ctx, tenantID, callID, ch)
}

type harness struct {
	store     *sqlstore.Store
	calls     *call.Service
	campaigns *campaign.Service
	dialer    *watchingDialer
	sim       *dial.Simulator
	clock     *virtualClock
	tenant    *callscope.Tenant
	stop      func()
}

func newHarness(t testing.TB, s *sqlstore.Store, start time.Time, lines int) *harness {
	t.Helper()
	must(t, job.Migrate(ctx, s))
	tenant := sqlstoretest.MustTenant(t, s)
	set := callscope.SettingsOf(map[string]any{"autocaller": map[string]any{"max_concurrent_calls": lines}})
	_, err := s.UpdateTenant(ctx, tenant.ID, callscope.TenantUpdate{Settings: &set})
	must(t, err)
	return restart(t, s, tenant, &virtualClock{t: start})
}

// restart starts a process's worth of the campaign machinery — queue,
// dial engine, simulator, campaign loop — on a store and tenant that may
// have run campaigns before.
func restart(t testing.TB, s *sqlstore.Store, tenant *callscope.Tenant, clock *virtualClock) *harness {
	t.Helper()
	h := &harness{store: s, tenant: tenant, clock: clock}
	h.calls = &call.Service{Store: s, Stages: pipeline.Stages, Now: h.clock.Now}
	h.campaigns = &campaign.Service{Store: s, Calls: h.calls, Interval: 100 * time.Millisecond}
	h.dialer = &watchingDialer{dialled: map[string]int{}, active: map[string]bool{}}
	h.sim = &dial.Simulator{Events: watchingEvents{&dial.Reporter{Calls: h.calls, Recordings: blob.Dir{Root: t.TempDir()}}, h.dialer},
		Clock: &simClock{v: h.clock}}
	h.dialer.next = h.sim
	engine := &dial.Engine{Calls: h.calls, Dialer: h.dialer, DialerName: "simulator"}
	workers := river.NewWorkers()
	engine.AddWorkers(workers)
	river.AddWorker(workers, &campaign.Worker{Store: s, Campaigns: h.campaigns})
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "processing is not worked in this test",
		func(a pipeline.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "CRM pushes are not worked in this test",
		func(a deliver.CRMPushArgs) (string, string) { return a.TenantID, a.CallID }))
	q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond, Workers: 40})
	must(t, err)
	h.calls.Queue = q
	must(t, q.Start(ctx))
	must(t, h.campaigns.Open(ctx))
	h.stop = func() {
		h.campaigns.Close()
		h.sim.Wait()
		q.Stop(ctx)
	}
	t.Cleanup(h.stop)
	return h
}

// run waits for a campaign to complete; whenever nothing is in progress it
// moves the clock on to when the next contact is due.
func (h *harness) run(t testing.TB, id string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		c, err := h.store.Campaign(ctx, h.tenant.ID, id)
		must(t, err)
		if c.State == callscope.CampaignCompleted {
			return
		}
		if time.Now().After(deadline) {
			p, _ := h.store.CampaignProgress(ctx, h.tenant.ID, id)
			t.Fatalf("campaign not completed in %s: %s, %+v", limit, c.State, p)
		}
		p, err := h.store.CampaignProgress(ctx, h.tenant.ID, id)
		must(t, err)
		if p.ByState[callscope.ContactInProgress] == 0 {
			pending, err := h.store.DialContacts(ctx, h.tenant.ID, id, callscope.ContactPending)
			must(t, err)
			// A contact due now (never called, or its time reached) is
			// about to be dispatched: the clock waits for it.
			var next time.Time
			due := false
			for _, dc := range pending {
				if dc.NextAt == nil || !dc.NextAt.After(h.clock.Now()) {
					due = true
					break
				}
				if next.IsZero() || dc.NextAt.Before(next) {
					next = *dc.NextAt
				}
			}
			// Nothing was dispatched while the contacts were read.
			again, err := h.store.CampaignProgress(ctx, h.tenant.ID, id)
			must(t, err)
			if !due && !next.IsZero() && again.ByState[callscope.ContactInProgress] == 0 && again.Attempts == p.Attempts {
				h.clock.advance(next)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func phone(i int) string { return fmt.Sprintf("+1212555%04d", i) }

// TestCampaignAcceptance runs a campaign of 500 contacts with concurrency
// 20 against the simulator, whose outcome is decided by the number's last
// digit (0–5 answered, 6 failed, 7 busy, 8 no answer, 9 voicemail), from
// Saturday 7 March 2026 16:30 in New York, the evening before the clocks
// go forward. The calling window is 09:00–17:00 in each contact's zone;
// every fifth contact is in London.
func TestCampaignAcceptance(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		start := time.Date(2026, 3, 7, 21, 30, 0, 0, time.UTC)
		h := newHarness(t, s, start, 50)
		var contacts []callscope.CampaignContactInput
		dnc := map[string]bool{}
		for i := range 500 {
			in := callscope.CampaignContactInput{Phone: phone(i), Name: fmt.Sprintf("Contact %d", i),
				Variables: map[string]string{"plan": "gold"}}
			if i%5 == 1 {
				in.TimeZone = "Europe/London"
			}
			contacts = append(contacts, in)
			if i%50 == 3 {
				dnc[in.Phone] = true
				_, _, err := s.AddDoNotCall(ctx, &callscope.DoNotCallEntry{TenantID: h.tenant.ID, Number: in.Phone, Source: callscope.DNCSourceAPI})
				must(t, err)
			}
		}
		redial, err := callscope.ParseRedial("busy=10m*3,no_answer=1h*2,failed=30m*2")
		must(t, err)
		c := &callscope.Campaign{TenantID: h.tenant.ID, Name: "Spring renewals", Concurrency: 20, Redial: redial,
			Script: "Hello {{contactName}}, about your {{plan}} plan.", TimeZone: "America/New_York",
			CallingWindow: &callscope.CallingWindow{Start: "09:00", End: "17:00"},
			Provider:      map[string]any{"simulate": map[string]any{"ringSeconds": 0, "talkSeconds": 0.01}}}
		began := time.Now()
		must(t, h.campaigns.Create(ctx, c, contacts))
		h.run(t, c.ID, 50*time.Second)
		t.Logf("%s: campaign completed in %s", s.Dialect(), time.Since(began).Round(time.Millisecond))
		h.sim.Wait()

		// Attempts: as the rule implies for each outcome.
		want := map[byte]int{'0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 2, '7': 3, '8': 2, '9': 1}
		wantState := map[byte]string{'6': callscope.ContactExhausted, '7': callscope.ContactExhausted,
			'8': callscope.ContactExhausted, '9': callscope.ContactVoicemail}
		all, err := s.DialContacts(ctx, h.tenant.ID, c.ID, "")
		must(t, err)
		if len(all) != 500 {
			t.Fatalf("%d contacts, want 500", len(all))
		}
		total := 0
		for _, dc := range all {
			d := dc.Contact[len(dc.Contact)-1]
			n, state := want[d], wantState[d]
			if state == "" {
				state = callscope.ContactCompleted
			}
			if dnc[dc.Contact] {
				n, state = 0, callscope.ContactSkippedDNC
			}
			total += n
			if dc.Attempts != n || dc.State != state || h.dialer.dialled[dc.Contact] != n {
				t.Errorf("%s: %d attempts (%d dials), state %s; want %d, %s", dc.Contact, dc.Attempts, h.dialer.dialled[dc.Contact], dc.State, n, state)
			}
		}
		if n := int(h.dialer.dials.Load()); n != total || total != 690 {
			t.Errorf("dialled %d calls, want %d (690)", n, total)
		}
		p, err := s.CampaignProgress(ctx, h.tenant.ID, c.ID)
		must(t, err)
		if p.Attempts != 690 || p.ByState[callscope.ContactCompleted] != 290 || p.ByState[callscope.ContactSkippedDNC] != 10 ||
			p.ByState[callscope.ContactExhausted] != 150 || p.ByState[callscope.ContactVoicemail] != 50 {
			t.Errorf("progress = %+v", p)
		}

		// The log: an attempt and an outcome per call, a skip per number on
		// the do-not-call list, with reasons.
		var log []*callscope.CampaignLogEntry
		for cursor := ""; ; {
			page, err := s.CampaignLog(ctx, h.tenant.ID, c.ID, "", cursor, 100)
			must(t, err)
			if len(page) == 0 {
				break
			}
			log = append(log, page...)
			cursor = page[len(page)-1].ID
		}
		count := map[string]int{}
		for _, e := range log {
			count[e.Event]++
			if e.Reason == "" {
				t.Errorf("log entry without a reason: %+v", e)
			}
			if e.Event == callscope.LogSkip && (!dnc[e.Contact] || !strings.Contains(e.Reason, "do-not-call")) {
				t.Errorf("unexpected skip: %+v", e)
			}
		}
		if count[callscope.LogAttempt] != 690 || count[callscope.LogOutcome] != 690 || count[callscope.LogSkip] != 10 {
			t.Errorf("log counts = %v", count)
		}

		// Every call started inside the window, in its contact's zone;
		// some after the change to daylight-saving time, the first of
		// those in New York at 09:00 EDT (13:00 UTC).
		ny, _ := time.LoadLocation("America/New_York")
		london, _ := time.LoadLocation("Europe/London")
		var firstSundayNY time.Time
		for _, e := range log {
			if e.Event != callscope.LogAttempt {
				continue
			}
			o, err := s.OutboundCall(ctx, h.tenant.ID, e.CallID)
			must(t, err)
			if o.PlacedAt == nil || !o.PlacedAt.Equal(e.At) {
				t.Errorf("call %s: placed at %v, its attempt logged at %s", e.CallID, o.PlacedAt, e.At)
				continue
			}
			loc := ny
			var i int
			fmt.Sscanf(e.Contact[len(e.Contact)-4:], "%d", &i)
			if i%5 == 1 {
				loc = london
			}
			lt := o.PlacedAt.In(loc)
			if mins := lt.Hour()*60 + lt.Minute(); mins < 9*60 || mins >= 17*60 {
				t.Errorf("%s called at %s, outside 09:00-17:00", e.Contact, lt)
			}
			if loc == ny && lt.Day() == 8 && (firstSundayNY.IsZero() || o.PlacedAt.Before(firstSundayNY)) {
				firstSundayNY = *o.PlacedAt
			}
		}
		if !firstSundayNY.Equal(time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)) {
			t.Errorf("first call in New York on Sunday at %s, want 09:00 EDT (13:00 UTC)", firstSundayNY)
		}

		// Never more than 20 calls at once.
		if h.dialer.maxSeen > 20 || h.dialer.maxSeen < 2 {
			t.Errorf("at most %d calls at once, want 2 to 20", h.dialer.maxSeen)
		}
		t.Logf("%s: at most %d calls at once", s.Dialect(), h.dialer.maxSeen)

		// Each attempt is an ordinary outbound call of the campaign.
		o, err := s.OutboundCall(ctx, h.tenant.ID, log[0].CallID)
		must(t, err)
		if o.Call.CampaignID != c.ID || o.Call.Direction != callscope.Outbound || o.Call.Title != "Spring renewals" {
			t.Errorf("campaign call = %+v", o.Call)
		}
		if v := string(o.Provider["variables"]); v != `{"plan":"gold"}` {
			t.Errorf("variables passed to the dialer = %s", v)
		}
	})
}

// TestOptOut: a campaign call whose contact asks not to be called again
// puts the number on the do-not-call list, with the call as its source;
// the number is not called again.
func TestOptOut(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), 10)
		redial, err := callscope.ParseRedial("busy=1m*3")
		must(t, err)
		c := &callscope.Campaign{TenantID: h.tenant.ID, Name: "Opt-out", Concurrency: 1, Redial: redial,
			TranscriptionEnabled: true, Script: "Hello {{contactName}}.",
			Provider: map[string]any{"simulate": map[string]any{"ringSeconds": 0, "talkSeconds": 0.01}}}
		must(t, h.campaigns.Create(ctx, c, nil))
		_, err = h.campaigns.Pause(ctx, h.tenant.ID, c.ID)
		if callscope.ErrorCode(err) != callscope.ECONFLICT {
			t.Fatalf("pausing a campaign with no contacts (completed): %v", err)
		}
		// A call of a voice-bot campaign in which the contact opts out.
		cl := &callscope.Call{TenantID: h.tenant.ID, Direction: callscope.Outbound, To: "+14155550111", CampaignID: "survey-7"}
		must(t, h.calls.Create(ctx, cl))
		must(t, h.calls.PutTranscript(ctx, h.tenant.ID, cl.ID, []callscope.Segment{
			{SegmentID: 0, Speaker: "agent", Text: "Hello, is this a good time?"},
			{SegmentID: 1, Speaker: "contact", Text: "No. Please stop calling me, and remove me from your list!"},
		}))
		_, _, err = h.calls.SetStatus(ctx, h.tenant.ID, cl.ID, call.StatusChange{Status: callscope.CallCompleted})
		must(t, err)
		var e *callscope.DoNotCallEntry
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if e, err = s.DoNotCall(ctx, h.tenant.ID, "+14155550111"); err == nil || time.Now().After(deadline) {
				break
			}
		}
		must(t, err)
		if e.Source != callscope.DNCSourceOptOut || e.CallID != cl.ID || !strings.Contains(e.Reason, "stop calling me") {
			t.Fatalf("do-not-call entry = %+v", e)
		}
		// Added to the campaign now, the number is skipped, with the call
		// named in the reason.
		n, err := h.campaigns.AddContacts(ctx, h.tenant.ID, c.ID, []callscope.CampaignContactInput{{Phone: "+14155550111"}, {Phone: "+14155550122"}})
		must(t, err)
		if n != 2 {
			t.Fatalf("added %d contacts, want 2", n)
		}
		h.run(t, c.ID, 15*time.Second)
		log, err := s.CampaignLog(ctx, h.tenant.ID, c.ID, callscope.LogSkip, "", 10)
		must(t, err)
		if len(log) != 1 || log[0].Contact != "+14155550111" || !strings.Contains(log[0].Reason, cl.ID) {
			t.Fatalf("skips = %+v", log)
		}
		if h.dialer.dialled["+14155550111"] != 0 || h.dialer.dialled["+14155550122"] != 1 {
			t.Fatalf("dialled %v", h.dialer.dialled)
		}
	})
}

// TestVoiceBotReconcile: seed-004 voice-bot results of a campaign, which
// has no campaigns row and no dialling, are still reconciled per contact
// by the same campaign.reconcile job — and a transcript in which the
// caller opts out puts the number on the do-not-call list.
func TestVoiceBotReconcile(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), 10)
		post := func(session, by, said string) *callscope.Call {
			p, err := voicebot.Parse([]byte(`{"session_id":"` + session + `","campaign_id":"bot-campaign-1","from_number":"+14155550123",` +
				`"call_direction":"inbound","disconnected_by":"` + by + `","call_duration_seconds":12,` +
				`"transcript":[{"role":"assistant","content":"Hello, this is the renewal line. Stop calling us anytime."},{"role":"user","content":"` + said + `"}]}`))
			must(t, err)
			must(t, h.calls.MergeResults(ctx, h.tenant, p))
			c, err := s.Call(ctx, h.tenant.ID, session)
			must(t, err)
			return c
		}
		waitContact := func(attempts int) *callscope.CampaignContact {
			t.Helper()
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				cc, err := s.CampaignContact(ctx, h.tenant.ID, "bot-campaign-1", "+14155550123")
				if err == nil && cc.Attempts == attempts {
					return cc
				}
				if time.Now().After(deadline) {
					t.Fatalf("contact not reconciled %d times: %+v %v", attempts, cc, err)
				}
			}
		}
		first := post("bot-session-1", "no_answer", "")
		cc := waitContact(1)
		if cc.NextAction != callscope.CampaignRetry || cc.LastCallID != first.ID {
			t.Fatalf("after a failed call: %+v", cc)
		}
		if _, err := s.DoNotCall(ctx, h.tenant.ID, "+14155550123"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("the agent's words opted the caller out: %v", err)
		}
		// Reconciled again, it still counts once.
		cc, err := h.campaigns.Reconcile(ctx, first)
		must(t, err)
		if cc.Attempts != 1 {
			t.Fatalf("reconciled twice: %+v", cc)
		}
		second := post("bot-session-2", "user", "Thanks, but please remove me from your list.")
		cc = waitContact(2)
		if cc.NextAction != callscope.CampaignDone || cc.LastCallID != second.ID {
			t.Fatalf("after an answered call: %+v", cc)
		}
		dc, err := s.DialContact(ctx, h.tenant.ID, "bot-campaign-1", "+14155550123")
		must(t, err)
		if dc.State != "" {
			t.Fatalf("a voice-bot contact has dialling state %q", dc.State)
		}
		var e *callscope.DoNotCallEntry
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if e, err = s.DoNotCall(ctx, h.tenant.ID, "+14155550123"); err == nil || time.Now().After(deadline) {
				break
			}
		}
		must(t, err)
		if e.Source != callscope.DNCSourceOptOut || e.CallID != second.ID || !strings.Contains(e.Reason, "remove me from your list") {
			t.Fatalf("do-not-call entry = %+v", e)
		}
	})
}

// TestCampaignRestart stops the process running a campaign part way and
// starts another on the same database: the campaign finishes with the
// attempts its rule implies, no contact dialled more often than that.
func TestCampaignRestart(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHarness(t, s, time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), 50)
		var contacts []callscope.CampaignContactInput
		for i := range 40 {
			contacts = append(contacts, callscope.CampaignContactInput{Phone: phone(i)})
		}
		redial, err := callscope.ParseRedial("busy=1m*3,no_answer=2m*2")
		must(t, err)
		c := &callscope.Campaign{TenantID: h.tenant.ID, Name: "Restart", Concurrency: 5, Redial: redial,
			Provider: map[string]any{"simulate": map[string]any{"ringSeconds": 0, "talkSeconds": 0.01}}}
		must(t, h.campaigns.Create(ctx, c, contacts))
		for deadline := time.Now().Add(20 * time.Second); h.dialer.dials.Load() < 12; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the campaign did not start")
			}
		}
		h.stop()
		first := h.dialer.dialled
		h2 := restart(t, s, h.tenant, h.clock)
		h2.run(t, c.ID, 30*time.Second)
		h2.sim.Wait()
		want := map[byte]int{'0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 1, '7': 3, '8': 2, '9': 1}
		all, err := s.DialContacts(ctx, h.tenant.ID, c.ID, "")
		must(t, err)
		for _, dc := range all {
			n := want[dc.Contact[len(dc.Contact)-1]]
			if dials := first[dc.Contact] + h2.dialer.dialled[dc.Contact]; dc.Attempts != n || dials != n {
				t.Errorf("%s: %d attempts, %d dials (%d before the restart); want %d", dc.Contact, dc.Attempts, dials, first[dc.Contact], n)
			}
		}
		if h2.dialer.dials.Load() == 0 {
			t.Error("the restarted process made no call: the restart came too late to test anything")
		}
	})
}

// TestPlaceInCampaignWindow: a campaign call that comes due after its
// campaign's window closed (it waited for a line, say) is not placed then,
// but when the window opens next, in the contact's time zone.
func TestPlaceInCampaignWindow(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		now := time.Date(2026, 3, 10, 20, 30, 0, 0, time.UTC) // 16:30 in New York
		h := newHarness(t, s, now, 10)
		c := &callscope.Campaign{TenantID: h.tenant.ID, Name: "Window", Concurrency: 1, DurationMinutes: 5,
			CallingWindow: &callscope.CallingWindow{Start: "09:00", End: "17:00"}, TimeZone: "America/New_York"}
		must(t, h.campaigns.Create(ctx, c, nil))
		at := now.Add(40 * time.Minute)
		cl := &callscope.Call{TenantID: h.tenant.ID, To: "+14155550101", CampaignID: c.ID, ScheduledAt: &at}
		must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
			return h.calls.ScheduleTx(ctx, tx, cl, &callscope.OutboundCall{DurationMinutes: 5, TimeZone: "America/New_York"})
		}))
		h.clock.advance(at)
		p, err := h.calls.Place(ctx, h.tenant.ID, cl.ID)
		must(t, err)
		if p.Dial || !strings.Contains(p.Outbound.Waiting, "outside the calling window: waiting until 2026-03-11T09:00:00-04:00") {
			t.Fatalf("placed outside the campaign's window: dial %v, waiting %q", p.Dial, p.Outbound.Waiting)
		}
		h.clock.advance(time.Date(2026, 3, 11, 13, 0, 0, 0, time.UTC))
		p, err = h.calls.Place(ctx, h.tenant.ID, cl.ID)
		must(t, err)
		if !p.Dial {
			t.Fatalf("not placed when the window opened: waiting %q", p.Outbound.Waiting)
		}
	})
}
