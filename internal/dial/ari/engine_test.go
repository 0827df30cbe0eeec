package ari

import (
	"context"
	"encoding/json"
	"strings"
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

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEngine places calls through the real placing engine and call
// service, on SQLite and PostgreSQL, with the ARI dialer against the fake
// Asterisk: one answered, keyed, recorded and hung up by the contact; one
// busy; one the user ends.
func TestEngine(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		must(t, job.Migrate(ctx, s))
		tenant := sqlstoretest.MustTenant(t, s)
		calls := &call.Service{Store: s, ProcessingEnabled: true, Stages: pipeline.Stages}
		f := newFakeARI(t)
		f.recordingWAV = dial.ToneWAV(3)
		d := &Dialer{Client: f.client(), App: f.app, Endpoint: "PJSIP/{number}@trunk",
			Events:     &dial.Reporter{Calls: calls, Recordings: blob.Dir{Root: t.TempDir()}},
			MinBackoff: 20 * time.Millisecond, RecordingWait: 2 * time.Second}
		engine := &dial.Engine{Calls: calls, Dialer: d, DialerName: "ari"}
		workers := river.NewWorkers()
		engine.AddWorkers(workers)
		river.AddWorker(workers, job.NewPendingWorker(s, nil, "processing is not worked in this test",
			func(a pipeline.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
		river.AddWorker(workers, job.NewPendingWorker(s, nil, "campaigns are not worked in this test",
			func(a job.CampaignReconcileArgs) (string, string) { return a.TenantID, "" }))
		river.AddWorker(workers, job.NewPendingWorker(s, nil, "CRM pushes are not worked in this test",
			func(a deliver.CRMPushArgs) (string, string) { return a.TenantID, a.CallID }))
		q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond})
		must(t, err)
		calls.Queue = q
		must(t, q.Start(ctx))
		must(t, engine.Open(ctx))
		f.waitConnected(t)
		t.Cleanup(func() {
			engine.Close()
			q.Stop(ctx)
		})

		schedule := func(to string) string {
			t.Helper()
			now := time.Now()
			c := &callscope.Call{TenantID: tenant.ID, UserID: "user-1", To: to, ContactName: "Ada Lovelace",
				Title: "Renewal", Purpose: "your renewal", Script: "Hello {{contactName}}.", ScheduledAt: &now}
			o := &callscope.OutboundCall{TenantID: tenant.ID, DurationMinutes: 15, RecordingEnabled: true}
			ans, _, err := calls.Schedule(ctx, c, o, call.Idempotency{})
			must(t, err)
			return ans.CallID
		}
		waitCall := func(ref string, ok func(o *callscope.OutboundCall) bool) *callscope.OutboundCall {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for {
				o, err := s.OutboundCall(ctx, tenant.ID, ref)
				must(t, err)
				if ok(o) {
					return o
				}
				if time.Now().After(deadline) {
					t.Fatalf("call %s: status %s", ref, o.Call.Status)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		is := func(st callscope.CallStatus) func(o *callscope.OutboundCall) bool {
			return func(o *callscope.OutboundCall) bool { return o.Call.Status == st }
		}

		t.Run("Answered", func(t *testing.T) {
			ref := schedule("+14155550101")
			ch := f.waitOriginate(t)
			o := waitCall(ref, func(o *callscope.OutboundCall) bool { return o.ProviderSessionID != "" })
			if o.Dialer != "ari" || o.ProviderSessionID != ch.id || ch.vars["CALLSCOPE_CALL_ID"] != o.CallID {
				t.Fatalf("dialled call: dialer %q, session %q, channel %+v", o.Dialer, o.ProviderSessionID, ch)
			}
			f.ring(ch.id)
			waitCall(ref, is(callscope.CallRinging))
			f.answer(ch.id)
			waitCall(ref, is(callscope.CallInProgress))
			waitFor(t, "the recording to start", func() bool {
				sn := f.channel(ch.id + snoopSuffix)
				f.mu.Lock()
				defer f.mu.Unlock()
				return sn != nil && sn.recording != ""
			})
			f.dtmf(ch.id, "5", 100)
			f.dtmf(ch.id, "1", 100)
			waitFor(t, "the keys", func() bool {
				events, err := s.Events(ctx, tenant.ID, o.CallID)
				must(t, err)
				return len(events) == 4
			})
			f.hangup(ch.id, CauseNormalClearing)
			o = waitCall(ref, is(callscope.CallCompleted))
			if o.Call.AnsweredAt == nil || o.Call.DisconnectedBy != "contact" {
				t.Fatalf("completed call: %+v", o.Call)
			}
			// The keys are events, not transcript lines: the recording is
			// still to be transcribed.
			segs, err := s.Segments(ctx, o.CallID)
			must(t, err)
			if len(segs) != 0 {
				t.Fatalf("segments = %+v", segs)
			}
			recs, err := s.Recordings(ctx, o.CallID)
			must(t, err)
			if len(recs) != 1 || recs[0].DurationSeconds < 2.9 || recs[0].AccessToken == "" {
				t.Fatalf("recordings = %+v", recs)
			}
			events, err := s.Events(ctx, tenant.ID, o.CallID)
			must(t, err)
			var types, keys []string
			for _, e := range events {
				types = append(types, e.Type)
				if e.Type == callscope.EventCallDTMF {
					var d callscope.CallDTMFData
					must(t, json.Unmarshal(e.Data, &d))
					keys = append(keys, d.Digit+" "+d.Track)
				}
			}
			if got := strings.Join(types, " "); got != "call.created call.started call.dtmf call.dtmf recording.ready call.completed" {
				t.Fatalf("events = %s", got)
			}
			if strings.Join(keys, ",") != "5 inbound,1 inbound" {
				t.Fatalf("keys = %v", keys)
			}
			n, err := s.OutboundLinesInUse(ctx, tenant.ID, time.Now())
			must(t, err)
			if n != 0 {
				t.Fatalf("%d lines in use after the call", n)
			}
		})

		t.Run("Busy", func(t *testing.T) {
			ref := schedule("+14155550107")
			ch := f.waitOriginate(t)
			f.ring(ch.id)
			f.hangup(ch.id, CauseUserBusy)
			o := waitCall(ref, is(callscope.CallBusy))
			if callscope.AutoStatus(o.Call.Status) != callscope.AutoFailed || !strings.Contains(o.Call.ErrorInfo, "Q.850 cause 17") {
				t.Fatalf("busy call: %+v", o.Call)
			}
		})

		t.Run("EndedByUser", func(t *testing.T) {
			ref := schedule("+14155550102")
			ch := f.waitOriginate(t)
			f.answer(ch.id)
			o := waitCall(ref, is(callscope.CallInProgress))
			_, err := engine.End(ctx, tenant.ID, "user-1", ref)
			must(t, err)
			o = waitCall(ref, is(callscope.CallCompleted))
			if o.Call.DisconnectedBy != "user" || f.channel(ch.id) != nil {
				t.Fatalf("ended call: %+v", o.Call)
			}
		})
	})
}
