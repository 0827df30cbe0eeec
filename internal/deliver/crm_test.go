package deliver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/campaign"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

func crmEnv(t *testing.T) *deliverEnv {
	env := mustDeliverEnv(t, nil, func(w *river.Workers, s *sqlstore.Store) {
		river.AddWorker(w, &deliver.CRMWorker{CRM: &deliver.CRM{Store: s, Egress: egress.Policy{AllowPrivate: true},
			PublicURL: "https://calls.example.com"}})
		river.AddWorker(w, &campaign.Worker{Store: s})
	})
	env.start(t)
	return env
}

func TestCRMPush(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int32
	bodies := make(chan map[string]string, 8)
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // retried
			return
		}
		if r.Header.Get("Authorization") != "Bearer crm-key" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b map[string]string
		_ = json.NewDecoder(r.Body).Decode(&b)
		bodies <- b
	}))
	t.Cleanup(crm.Close)
	env := crmEnv(t)
	tn := mustTenantWith(t, env.store, map[string]any{callscope.SettingCRMPush: map[string]any{
		"url": crm.URL + "/hook", "auth_header": "Bearer crm-key", "timezone": "Africa/Nairobi",
		"mapping": map[string]string{"phone": "{{.From}}", "summary": "{{.Summary}}", "recording": "{{.RecordingURL}}",
			"called_at": "{{.StartedAt}}", "lead": "{{index .Results \"lead_score\"}}"}}})
	c := mustCall(t, env.store, tn.ID, 4)
	c.Raw = map[string]json.RawMessage{"call_results": json.RawMessage(`{"lead_score": "hot"}`)}
	must(t, env.store.UpdateCall(ctx, c))
	must(t, env.store.CreateRecording(ctx, &callscope.Recording{TenantID: tn.ID, CallID: c.ID, Format: "mp3",
		ContentType: "audio/mpeg", StorageKey: "k", AccessToken: "tok_abc"}))

	_, err := env.queue.Insert(ctx, deliver.CRMPushArgs{TenantID: tn.ID, CallID: c.ID}, nil)
	must(t, err)
	var got map[string]string
	select {
	case got = <-bodies:
	case <-time.After(30 * time.Second):
		t.Fatalf("no CRM push after %d requests", calls.Load())
	}
	want := map[string]string{"phone": "+254700000001", "summary": "Customer asked to move the delivery to Friday.",
		"recording": "https://calls.example.com/recordings/tok_abc", "called_at": "2026-03-02T12:30:00+03:00", "lead": "hot"}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("CRM body = %s\nwant %s", gb, wb)
	}
	d := waitDelivery(t, env.store, tn.ID, c.ID, deliver.ChannelCRM, callscope.DeliverySucceeded)
	if d.Attempts != 2 {
		t.Fatalf("delivery attempts = %d, want 2 (a 503 is retried)", d.Attempts)
	}
	ds, _ := env.store.Deliveries(ctx, tn.ID, c.ID)
	if len(ds) != 1 {
		t.Fatalf("deliveries = %d, want 1 logged across retries", len(ds))
	}
}

func TestCRMPushSkipped(t *testing.T) {
	ctx := context.Background()
	var hits atomic.Int32
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(crm.Close)
	env := crmEnv(t)
	tn := mustTenantWith(t, env.store, map[string]any{callscope.SettingCRMPush: map[string]any{"url": crm.URL}})
	c := mustCall(t, env.store, tn.ID, 4)
	c.Raw = map[string]json.RawMessage{"call_results": json.RawMessage(`{"skip_post_push": true}`)}
	must(t, env.store.UpdateCall(ctx, c))
	res, err := env.queue.Insert(ctx, deliver.CRMPushArgs{TenantID: tn.ID, CallID: c.ID}, nil)
	must(t, err)
	waitJob(t, env.store, res.Job.ID)
	if hits.Load() != 0 {
		t.Fatal("a call flagged skip_post_push was pushed")
	}
	if ds, _ := env.store.Deliveries(ctx, tn.ID, c.ID); len(ds) != 0 {
		t.Fatalf("deliveries = %+v", ds)
	}
}

func TestRenderCRMBodyInvalidTemplate(t *testing.T) {
	_, err := deliver.RenderCRMBody(map[string]string{"x": "{{.Nope"}, &deliver.CRMView{})
	if callscope.ErrorCode(err) != callscope.EINVALID {
		t.Fatalf("error = %v, want EINVALID", err)
	}
	_, err = deliver.RenderCRMBody(map[string]string{"x": "{{.Nope}}"}, &deliver.CRMView{})
	if callscope.ErrorCode(err) != callscope.EINVALID {
		t.Fatalf("unknown field: error = %v, want EINVALID", err)
	}
}

func TestCampaignReconcileWorker(t *testing.T) {
	ctx := context.Background()
	env := crmEnv(t)
	tn := mustTenantWith(t, env.store, nil)
	c := mustCall(t, env.store, tn.ID, 4)
	c.Direction, c.CampaignID, c.To, c.Status = callscope.Outbound, "spring", "+254711000000", callscope.CallNoAnswer
	must(t, env.store.UpdateCall(ctx, c))
	other := mustCall(t, env.store, tn.ID, 4) // outside campaigns
	for i := 0; i < 2; i++ {                  // a job may run twice
		res, err := env.queue.Insert(ctx, job.CampaignReconcileArgs{TenantID: tn.ID, CallID: c.ID}, nil)
		must(t, err)
		waitJob(t, env.store, res.Job.ID)
	}
	res, err := env.queue.Insert(ctx, job.CampaignReconcileArgs{TenantID: tn.ID, CallID: other.ID}, nil)
	must(t, err)
	waitJob(t, env.store, res.Job.ID)
	cc, err := env.store.CampaignContacts(ctx, tn.ID, "spring")
	must(t, err)
	if len(cc) != 1 || cc[0].Contact != "+254711000000" || cc[0].Attempts != 1 || cc[0].NextAction != callscope.CampaignRetry {
		t.Fatalf("campaign contacts = %+v", cc)
	}

	// One job for the calls of a commit: a second campaign call, the first
	// again (counted once), a call outside campaigns and a missing one.
	c2 := mustCall(t, env.store, tn.ID, 4)
	c2.Direction, c2.CampaignID, c2.To, c2.Status = callscope.Outbound, "spring", "+254722000000", callscope.CallCompleted
	must(t, env.store.UpdateCall(ctx, c2))
	res, err = env.queue.Insert(ctx, job.CampaignReconcileArgs{Calls: []job.CallRef{
		{TenantID: tn.ID, CallID: c2.ID}, {TenantID: tn.ID, CallID: c.ID},
		{TenantID: tn.ID, CallID: other.ID}, {TenantID: tn.ID, CallID: "missing"}}}, nil)
	must(t, err)
	waitJob(t, env.store, res.Job.ID)
	var state, output string
	must(t, env.store.SQLDB().QueryRow(`SELECT state, COALESCE(json_extract(metadata, '$.output'), '') FROM river_job WHERE id = ?`, res.Job.ID).Scan(&state, &output))
	if state != "completed" || !strings.Contains(output, `"not a campaign call"`) || !strings.Contains(output, "missing") {
		t.Fatalf("batch job: state %s, output %s", state, output)
	}
	cc, err = env.store.CampaignContacts(ctx, tn.ID, "spring")
	must(t, err)
	if len(cc) != 2 {
		t.Fatalf("campaign contacts = %+v", cc)
	}
	for _, x := range cc {
		if x.Attempts != 1 {
			t.Fatalf("contact %s counted %d times", x.Contact, x.Attempts)
		}
	}
}

// waitJob waits until a job has finished, whatever its outcome.
func waitJob(t *testing.T, s *sqlstore.Store, id int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var state string
		if err := s.SQLDB().QueryRow(`SELECT state FROM river_job WHERE id = ?`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "completed" || state == "cancelled" || state == "discarded" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %d did not finish", id)
}
