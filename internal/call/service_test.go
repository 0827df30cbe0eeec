package call_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
	"github.com/callscope/callscope/internal/voicebot"
)

type noopArgs struct{}

func (noopArgs) Kind() string { return "test.noop" }

type noopWorker struct{ river.WorkerDefaults[noopArgs] }

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

func newService(t *testing.T, s *sqlstore.Store) *call.Service {
	t.Helper()
	if err := job.Migrate(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "processing is not worked in this test",
		func(a pipeline.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "campaigns are not worked in this test",
		func(a job.CampaignReconcileArgs) (string, string) { return a.TenantID, "" }))
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "CRM pushes are not worked in this test",
		func(a deliver.CRMPushArgs) (string, string) { return a.TenantID, a.CallID }))
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "outbound calls are not placed in this test",
		func(a call.PlaceCallArgs) (string, string) { return a.TenantID, a.CallID }))
	q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &call.Service{Store: s, Queue: q, ProcessingEnabled: true, Stages: pipeline.Stages}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEveryEventHasOnePayload makes every kind of change the service
// records (and the pipeline's three events), then reads the outbox back: each
// event decodes strictly into its type's one payload type and says the same
// thing encoded again.
func TestEveryEventHasOnePayload(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		tn := sqlstoretest.MustTenant(t, s)

		live := &callscope.Call{TenantID: tn.ID, Status: callscope.CallRinging,
			ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtCallID, Value: "live-1"}}}
		must(t, svc.Create(ctx, live))
		_, changed, err := svc.SetStatus(ctx, tn.ID, "live-1", call.StatusChange{Status: callscope.CallInProgress})
		must(t, err)
		if !changed {
			t.Fatal("ringing → in_progress did not change the call")
		}
		must(t, svc.DTMF(ctx, live, "5", "inbound", 1500*time.Millisecond))
		must(t, svc.RecordProgress(ctx, live, []call.Snapshot{{EvolutionSnapshot: callscope.EvolutionSnapshot{
			Kind: callscope.EvolutionClassification, WindowEnd: 30, Data: json.RawMessage(`{"category":"abuse","risk":"high"}`)},
			Changed: true}}, &callscope.RiskRaisedData{From: "low", Risk: "high", Category: "abuse", Evidence: []string{"he hits me"}}))
		_, err = svc.End(ctx, tn.ID, "live-1", "manual")
		must(t, err)
		_, _, err = svc.CorrectClassification(ctx, tn.ID, "live-1", call.Correction{Category: "neglect", Reviewer: "amina"})
		must(t, err)
		rec := &callscope.Recording{Format: "wav", ContentType: "audio/wav", Channels: 1, StorageKey: "k", AccessToken: voicebot.NewToken()}
		must(t, svc.AttachRecording(ctx, live, rec))

		failed := &callscope.Call{TenantID: tn.ID, Status: callscope.CallInitiating,
			ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtCallID, Value: "dial-1"}}}
		must(t, svc.Create(ctx, failed))
		_, _, err = svc.SetStatus(ctx, tn.ID, "dial-1", call.StatusChange{Status: callscope.CallFailed, ErrorInfo: "trunk down"})
		must(t, err)

		p, err := voicebot.Parse([]byte(`{"session_id":"bot-1","disconnected_by":"user","call_duration_seconds":12,
			"recording_url":"https://example.com/r.wav","transcript":[{"role":"assistant","content":"Hello"},{"role":"user","content":"Hi"}]}`))
		must(t, err)
		must(t, svc.MergeResults(ctx, tn, p))

		// The pipeline's events, as its runner records them.
		must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
			if _, err := svc.Queue.RecordEvent(ctx, tx, live, callscope.AnalysisCompletedData{CallRefData: callscope.RefOf(live),
				Stages: []callscope.StageRun{{Stage: "summarize", Status: "completed"}}, Summary: "A call."}); err != nil {
				return err
			}
			if _, err := svc.Queue.RecordEvent(ctx, tx, live, callscope.ContactEnrichedData{CallRefData: callscope.RefOf(live),
				ContactID: callscope.NewID(), Fields: []string{callscope.ContactEmail}, Created: true}); err != nil {
				return err
			}
			_, err := svc.Queue.RecordEvent(ctx, tx, failed, callscope.ProcessingFailedData{CallRefData: callscope.RefOf(failed),
				Stage: "transcribe", Error: "no audio"})
			return err
		}))

		seen := map[string]int{}
		for _, ref := range []string{"live-1", "dial-1", "bot-1"} {
			c, err := s.Call(ctx, tn.ID, ref)
			must(t, err)
			events, err := s.Events(ctx, tn.ID, c.ID)
			must(t, err)
			for _, ev := range events {
				newPayload, ok := callscope.EventPayloads[ev.Type]
				if !ok {
					t.Fatalf("event type %s has no payload type", ev.Type)
				}
				v := newPayload()
				dec := json.NewDecoder(bytes.NewReader(ev.Data))
				dec.DisallowUnknownFields()
				if err := dec.Decode(v); err != nil {
					t.Fatalf("%s: %s does not decode into %T: %v", ev.Type, ev.Data, v, err)
				}
				if v.EventType() != ev.Type {
					t.Errorf("%s decoded into a payload of %s", ev.Type, v.EventType())
				}
				again, _ := json.Marshal(v)
				var a, b any
				_ = json.Unmarshal(ev.Data, &a)
				_ = json.Unmarshal(again, &b)
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s: %s re-encodes as %s", ev.Type, ev.Data, again)
				}
				seen[ev.Type]++
			}
		}
		for _, typ := range callscope.EventTypes {
			if seen[typ] == 0 {
				t.Errorf("no %s event was recorded", typ)
			}
		}
	})
}

// TestStatusReportsDoNotGoBackwards applies late, duplicate and final
// reports through the service: the call ends once, with one event.
func TestStatusReportsDoNotGoBackwards(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		tn := sqlstoretest.MustTenant(t, s)
		must(t, svc.Create(ctx, &callscope.Call{TenantID: tn.ID, Status: callscope.CallInitiating,
			ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtCallSID, Value: "CA1"}}}))
		for _, st := range []callscope.CallStatus{callscope.CallCompleted, callscope.CallRinging, callscope.CallInProgress,
			callscope.CallCompleted, callscope.CallBusy} {
			_, _, err := svc.SetStatus(ctx, tn.ID, "CA1", call.StatusChange{Status: st})
			must(t, err)
		}
		c, err := s.Call(ctx, tn.ID, "CA1")
		must(t, err)
		if c.Status != callscope.CallCompleted {
			t.Fatalf("status = %s, want completed", c.Status)
		}
		events, err := s.Events(ctx, tn.ID, c.ID)
		must(t, err)
		ends := 0
		for _, ev := range events {
			if ev.Type == callscope.EventCallCompleted || ev.Type == callscope.EventCallFailed {
				ends++
			}
		}
		if ends != 1 {
			t.Fatalf("%d end events, want 1", ends)
		}
		if _, err := svc.End(ctx, tn.ID, "CA1", "manual"); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.Events(ctx, tn.ID, c.ID); len(again) != len(events) {
			t.Fatalf("ending an ended call recorded %d more events", len(again)-len(events))
		}
	})
}
