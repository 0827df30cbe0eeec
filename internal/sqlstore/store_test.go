package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestStore is the one suite every backend must pass; a behaviour that
// differs between SQLite and PostgreSQL fails here.
func TestStore(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		t.Run("Migrate/Idempotent", func(t *testing.T) { testMigrateIdempotent(t, s) })
		t.Run("Tenant", func(t *testing.T) { testTenant(t, s) })
		t.Run("Tenant/ClearSecretsDigested", func(t *testing.T) { testClearSecretsDigested(t, s) })
		t.Run("APIKey", func(t *testing.T) { testAPIKey(t, s) })
		t.Run("Call", func(t *testing.T) { testCall(t, s) })
		t.Run("Call/List", func(t *testing.T) { testCallList(t, s) })
		t.Run("Call/ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, s) })
		t.Run("Segment", func(t *testing.T) { testSegments(t, s) })
		t.Run("Recording", func(t *testing.T) { testRecording(t, s) })
		t.Run("Processing", func(t *testing.T) { testProcessing(t, s) })
		t.Run("Analyzer", func(t *testing.T) { testAnalyzer(t, s) })
		t.Run("EventAndDelivery", func(t *testing.T) { testEventDelivery(t, s) })
		t.Run("Feed", func(t *testing.T) { testFeed(t, s) })
		t.Run("Session/LiveProgress", func(t *testing.T) { testLiveProgress(t, s) })
		t.Run("Tx/Rollback", func(t *testing.T) { testRollback(t, s) })
		t.Run("Tx/ConcurrentMembersFailAlone", func(t *testing.T) { testConcurrentTx(t, s) })
		t.Run("Tx/AfterCommit", func(t *testing.T) { testAfterCommit(t, s) })
		t.Run("Session/Active", func(t *testing.T) { testActiveCalls(t, s) })
		t.Run("Session/AppendSegments", func(t *testing.T) { testAppendSegments(t, s) })
		t.Run("Session/AppendSegmentsConcurrent", func(t *testing.T) { testAppendSegmentsConcurrent(t, s) })
		t.Run("Call/Search", func(t *testing.T) { testSearchCalls(t, s) })
		t.Run("Evolution", func(t *testing.T) { testEvolution(t, s) })
		t.Run("AnalyzerRun/Once", func(t *testing.T) { testAnalyzerRunOnce(t, s) })
		t.Run("Backfill", func(t *testing.T) { testBackfill(t, s) })
		t.Run("Campaign/Reconcile", func(t *testing.T) { testCampaignReconcile(t, s) })
		t.Run("WebhookEndpoint", func(t *testing.T) { testWebhookEndpoint(t, s) })
		t.Run("WebhookDelivery", func(t *testing.T) { testWebhookDelivery(t, s) })
		t.Run("Outbound", func(t *testing.T) { testOutbound(t, s) })
	})
}

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := callscope.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testMigrateIdempotent(t *testing.T, s *sqlstore.Store) {
	applied, err := s.Migrate(ctx)
	must(t, err)
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", applied)
	}
}

func testTenant(t *testing.T, s *sqlstore.Store) {
	tn := &callscope.Tenant{Name: "acme", ResultsSecret: "s3cret", Settings: callscope.Settings{TranslateTo: "sw", CDRTimezone: "Africa/Nairobi"}}
	must(t, s.CreateTenant(ctx, tn))
	if tn.ID == "" || tn.CreatedAt.IsZero() {
		t.Fatalf("tenant not filled in: %+v", tn)
	}
	got, err := s.Tenant(ctx, tn.ID)
	must(t, err)
	if got.Name != "acme" || got.ResultsSecret != tn.ResultsSecret || got.Settings.TranslateTo != "sw" || got.Settings.CDRTimezone != "Africa/Nairobi" || !got.CreatedAt.Equal(tn.CreatedAt) {
		t.Fatalf("Tenant = %+v, want %+v", got, tn)
	}
	if !sqlstore.IsSecretDigest(got.ResultsSecret) {
		t.Fatalf("results secret stored as %q, want its digest", got.ResultsSecret)
	}
	bySecret, err := s.TenantByResultsSecret(ctx, "s3cret")
	must(t, err)
	if bySecret.ID != tn.ID {
		t.Fatalf("TenantByResultsSecret id = %s, want %s", bySecret.ID, tn.ID)
	}
	for _, wrong := range []string{"", "s3cre", "s3crett", got.ResultsSecret} {
		_, err := s.TenantByResultsSecret(ctx, wrong)
		wantCode(t, err, callscope.ENOTFOUND)
	}
	byName, err := s.TenantByName(ctx, "acme")
	must(t, err)
	if byName.ID != tn.ID {
		t.Fatalf("TenantByName id = %s, want %s", byName.ID, tn.ID)
	}
	t.Run("ErrConflict", func(t *testing.T) {
		wantCode(t, s.CreateTenant(ctx, &callscope.Tenant{Name: "acme"}), callscope.ECONFLICT)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, s.CreateTenant(ctx, &callscope.Tenant{Name: "  "}), callscope.EINVALID)
		wantCode(t, s.CreateTenant(ctx, &callscope.Tenant{Name: "digest", ResultsSecret: got.ResultsSecret}), callscope.EINVALID)
	})
	t.Run("ErrSecretTaken", func(t *testing.T) {
		err := s.CreateTenant(ctx, &callscope.Tenant{Name: "acme2", ResultsSecret: "s3cret"})
		wantCode(t, err, callscope.ECONFLICT)
		if !strings.Contains(err.Error(), "results secret") {
			t.Fatalf("conflict = %v, want it to name the results secret", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Tenant(ctx, "nope")
		wantCode(t, err, callscope.ENOTFOUND)
	})
	t.Run("Update", func(t *testing.T) {
		secret := "rotated"
		u, err := s.UpdateTenant(ctx, tn.ID, callscope.TenantUpdate{ResultsSecret: &secret})
		must(t, err)
		if u.ResultsSecret == "rotated" || u.Name != "acme" {
			t.Fatalf("UpdateTenant = %+v", u)
		}
		if _, err := s.TenantByResultsSecret(ctx, "s3cret"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("old secret still works: %v", err)
		}
		if got, err := s.TenantByResultsSecret(ctx, "rotated"); err != nil || got.ID != tn.ID {
			t.Fatalf("rotated secret: %v", err)
		}
		// Changing something else keeps the secret as it was.
		name := "acme"
		_, err = s.UpdateTenant(ctx, tn.ID, callscope.TenantUpdate{Name: &name})
		must(t, err)
		if got, err := s.TenantByResultsSecret(ctx, "rotated"); err != nil || got.ID != tn.ID {
			t.Fatalf("secret after a rename: %v", err)
		}
	})
	all, err := s.Tenants(ctx)
	must(t, err)
	found := false
	for _, x := range all {
		found = found || x.ID == tn.ID
	}
	if !found {
		t.Fatalf("Tenants does not list %s", tn.ID)
	}
}

func testAPIKey(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	k, plain, err := s.CreateAPIKey(ctx, tn.ID, "ci", true)
	must(t, err)
	p, err := s.Authenticate(ctx, plain)
	must(t, err)
	if p.TenantID != tn.ID || p.KeyID != k.ID || !p.Admin {
		t.Fatalf("Authenticate = %+v", p)
	}
	keys, err := s.APIKeys(ctx, tn.ID)
	must(t, err)
	if len(keys) != 1 || keys[0].Prefix != k.Prefix || len(keys[0].Hash) != 32 {
		t.Fatalf("APIKeys = %+v", keys)
	}
	if string(keys[0].Hash) == plain {
		t.Fatal("key stored in plain text")
	}
	for name, bad := range map[string]string{
		"WrongSecret": plain[:len(plain)-2] + "xx",
		"NoScheme":    plain[3:],
		"Empty":       "",
		"PrefixOnly":  "cs_" + k.Prefix,
		"Unknown":     "cs_0123456789ab_secret",
		"OtherPrefix": "cs_" + strings.Repeat("0", 12) + plain[len("cs_")+12:],
	} {
		t.Run("ErrUnauthorized/"+name, func(t *testing.T) {
			_, err := s.Authenticate(ctx, bad)
			wantCode(t, err, callscope.EUNAUTHORIZED)
		})
	}
	t.Run("Revoke", func(t *testing.T) {
		other := sqlstoretest.MustTenant(t, s)
		_, err := s.RevokeAPIKey(ctx, other.ID, k.ID)
		wantCode(t, err, callscope.ENOTFOUND)
		_, err = s.RevokeAPIKey(ctx, tn.ID, k.ID)
		must(t, err)
		_, err = s.RevokeAPIKey(ctx, tn.ID, k.ID)
		must(t, err)
		_, err = s.Authenticate(ctx, plain)
		wantCode(t, err, callscope.EUNAUTHORIZED)
	})
	t.Run("ErrNotFound/Tenant", func(t *testing.T) {
		_, _, err := s.CreateAPIKey(ctx, "missing", "", false)
		wantCode(t, err, callscope.ENOTFOUND)
	})
}

func newCall(tenantID string, ext ...string) *callscope.Call {
	c := &callscope.Call{TenantID: tenantID, Direction: callscope.Inbound, From: "+254700000001", To: "116"}
	for _, e := range ext {
		c.ExternalIDs = append(c.ExternalIDs, callscope.ExternalID{Kind: "pbx", Value: e})
	}
	return c
}

func testCall(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	start := time.Date(2025, 10, 24, 8, 43, 35, 123456789, time.UTC)
	c := newCall(tn.ID, "1761295415.12887")
	c.StartedAt = &start
	c.Metadata = map[string]any{"queue": "helpline"}
	c.ConnectionInfo = json.RawMessage(`{"client_addr":["10.0.0.5",40412]}`)
	c.Raw = map[string]json.RawMessage{"post_call_analysis": json.RawMessage(`{"sentiment":"neutral"}`)}
	must(t, s.CreateCall(ctx, c))

	for _, ref := range []string{c.ID, "1761295415.12887"} {
		got, err := s.Call(ctx, tn.ID, ref)
		must(t, err)
		if got.ID != c.ID || got.From != c.From || got.Status != callscope.CallInProgress || got.ProcessingMode != callscope.ModePostcallOnly {
			t.Fatalf("Call(%s) = %+v", ref, got)
		}
		if !got.StartedAt.Equal(start.Truncate(time.Microsecond)) {
			t.Fatalf("StartedAt = %v, want %v (microsecond precision)", got.StartedAt, start)
		}
		if got.Metadata["queue"] != "helpline" || !reflect.DeepEqual(got.ExternalIDs, c.ExternalIDs) {
			t.Fatalf("metadata/external ids = %v %v", got.Metadata, got.ExternalIDs)
		}
		var ci map[string]any
		must(t, json.Unmarshal(got.ConnectionInfo, &ci))
		var pca map[string]string
		must(t, json.Unmarshal(got.Raw["post_call_analysis"], &pca))
		if pca["sentiment"] != "neutral" || ci["client_addr"] == nil {
			t.Fatalf("JSON round trip: %s %v", got.ConnectionInfo, got.Raw)
		}
	}
	t.Run("ErrNotFound/OtherTenant", func(t *testing.T) {
		other := sqlstoretest.MustTenant(t, s)
		for _, ref := range []string{c.ID, "1761295415.12887"} {
			_, err := s.Call(ctx, other.ID, ref)
			wantCode(t, err, callscope.ENOTFOUND)
		}
		// The same external id may exist in another tenant.
		must(t, s.CreateCall(ctx, newCall(other.ID, "1761295415.12887")))
	})
	t.Run("ErrConflict/ExternalID", func(t *testing.T) {
		wantCode(t, s.CreateCall(ctx, newCall(tn.ID, "1761295415.12887")), callscope.ECONFLICT)
	})
	t.Run("AddExternalID", func(t *testing.T) {
		must(t, s.AddExternalID(ctx, c, callscope.ExternalID{Kind: "twilio", Value: "CA123"}))
		must(t, s.AddExternalID(ctx, c, callscope.ExternalID{Kind: "twilio", Value: "CA123"}))
		got, err := s.Call(ctx, tn.ID, "CA123")
		must(t, err)
		if got.ID != c.ID || len(got.ExternalIDs) != 2 || got.PublicID() != "1761295415.12887" {
			t.Fatalf("after AddExternalID: %+v", got.ExternalIDs)
		}
	})
	t.Run("Update", func(t *testing.T) {
		got, err := s.Call(ctx, tn.ID, c.ID)
		must(t, err)
		end := start.Add(95 * time.Second).Truncate(time.Microsecond)
		got.Status, got.EndedAt, got.DurationSeconds = callscope.CallCompleted, &end, 95
		got.Summary = json.RawMessage(`{"text":"Caller asked about school fees."}`)
		must(t, s.UpdateCall(ctx, got))
		again, err := s.Call(ctx, tn.ID, c.ID)
		must(t, err)
		if again.Status != callscope.CallCompleted || again.DurationSeconds != 95 || !again.EndedAt.Equal(end) || again.UpdatedAt.Before(c.CreatedAt) {
			t.Fatalf("after update: %+v", again)
		}
		var sum map[string]string
		must(t, json.Unmarshal(again.Summary, &sum))
		if sum["text"] == "" {
			t.Fatalf("summary lost: %s", again.Summary)
		}
		other := *got
		other.TenantID = "someone-else"
		wantCode(t, s.UpdateCall(ctx, &other), callscope.ENOTFOUND)
	})
}

func testCallList(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	var ids []string
	for i := 0; i < 7; i++ {
		c := newCall(tn.ID, fmt.Sprintf("list-%d", i))
		if i%2 == 0 {
			c.Status = callscope.CallCompleted
			c.Direction = callscope.Outbound
			c.UserID = "u1"
		}
		must(t, s.CreateCall(ctx, c))
		ids = append(ids, c.ID)
	}
	var seen []string
	after := ""
	for page := 0; page < 10; page++ {
		cs, err := s.Calls(ctx, callscope.CallFilter{TenantID: tn.ID, Limit: 3, After: after})
		must(t, err)
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			seen = append(seen, c.ID)
			if len(c.ExternalIDs) != 1 {
				t.Fatalf("listed call without its external id: %+v", c)
			}
		}
		after = cs[len(cs)-1].ID
	}
	if len(seen) != 7 || seen[0] != ids[6] || seen[6] != ids[0] {
		t.Fatalf("pages = %v, want newest first %v", seen, ids)
	}
	cs, err := s.Calls(ctx, callscope.CallFilter{TenantID: tn.ID, Status: []callscope.CallStatus{callscope.CallCompleted}, Direction: callscope.Outbound, UserID: "u1"})
	must(t, err)
	if len(cs) != 4 {
		t.Fatalf("filtered = %d calls, want 4", len(cs))
	}
	future := time.Now().Add(time.Hour)
	cs, err = s.Calls(ctx, callscope.CallFilter{TenantID: tn.ID, CreatedFrom: &future})
	must(t, err)
	if len(cs) != 0 {
		t.Fatalf("created in the future = %d calls, want 0", len(cs))
	}
	n, err := s.CountCalls(ctx, tn.ID, callscope.CallCompleted)
	must(t, err)
	if n != 4 {
		t.Fatalf("CountCalls = %d, want 4", n)
	}
}

func testConcurrentCreate(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Every other call collides on the same external id.
			errs <- s.CreateCall(ctx, newCall(tn.ID, fmt.Sprintf("dup-%d", i%20)))
		}(i)
	}
	wg.Wait()
	close(errs)
	ok, conflict := 0, 0
	for err := range errs {
		switch callscope.ErrorCode(err) {
		case "":
			ok++
		case callscope.ECONFLICT:
			conflict++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 20 || conflict != 20 {
		t.Fatalf("ok=%d conflict=%d, want 20/20", ok, conflict)
	}
}

func testSegments(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	segs := []callscope.Segment{
		{SegmentID: 2, Speaker: "agent", StartTime: 4.5, EndTime: 7, Text: "How can I help?", Confidence: 0.9},
		{SegmentID: 1, Speaker: "caller", StartTime: 0.5, EndTime: 4, Text: "Hello", Confidence: 0.8},
	}
	must(t, s.PutSegments(ctx, c.ID, segs))
	must(t, s.PutSegments(ctx, c.ID, segs)) // idempotent
	got, err := s.Segments(ctx, c.ID)
	must(t, err)
	if len(got) != 2 || got[0].SegmentID != 1 || got[1].Text != "How can I help?" || got[1].Confidence != 0.9 {
		t.Fatalf("Segments = %+v", got)
	}
	n, end, err := s.SegmentStats(ctx, c.ID)
	must(t, err)
	if n != 2 || end != 7 {
		t.Fatalf("SegmentStats = %d %v", n, end)
	}
	must(t, s.ReplaceSegments(ctx, c.ID, segs[:1]))
	got, err = s.Segments(ctx, c.ID)
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("after replace: %+v", got)
	}
}

func testRecording(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	rec := &callscope.Recording{TenantID: tn.ID, CallID: c.ID, Format: "mp3", ContentType: "audio/mpeg", Channels: 2,
		DurationSeconds: 61.5, SizeBytes: 1234, StorageKey: "rec/x.mp3", AccessToken: "tok-abc"}
	must(t, s.CreateRecording(ctx, rec))
	got, err := s.RecordingByToken(ctx, "tok-abc")
	must(t, err)
	if got.ID != rec.ID || got.Channels != 2 || got.SizeBytes != 1234 {
		t.Fatalf("RecordingByToken = %+v", got)
	}
	must(t, s.CreateRecording(ctx, &callscope.Recording{TenantID: tn.ID, CallID: c.ID, Format: "wav"}))
	list, err := s.Recordings(ctx, c.ID)
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("Recordings = %d", len(list))
	}
	must(t, s.SetRecordingToken(ctx, rec.ID, ""))
	_, err = s.RecordingByToken(ctx, "tok-abc")
	wantCode(t, err, callscope.ENOTFOUND)
	_, err = s.RecordingByToken(ctx, "")
	wantCode(t, err, callscope.ENOTFOUND)
}

func testProcessing(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	_, err := s.Processing(ctx, c.ID)
	wantCode(t, err, callscope.ENOTFOUND)
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := &callscope.Processing{CallID: c.ID, TenantID: tn.ID, Status: callscope.ProcessingInProgress, CurrentStage: "transcribe",
		StagesCompleted: []string{"fetch_audio"}, StagesRemaining: []string{"transcribe", "summarise"}, StartedAt: &now,
		Stages: []callscope.StageRun{{Stage: "fetch_audio", Status: "completed", StartedAt: now, Seconds: 0.25}},
		Errors: []callscope.StageError{{Stage: "fetch_audio", Message: "timeout", Retryable: true, At: now}}, Attempts: 1,
		Config: map[string]any{"ENABLE_QA_SCORING": true}}
	must(t, s.PutProcessing(ctx, p))
	got, err := s.Processing(ctx, c.ID)
	must(t, err)
	if got.Status != callscope.ProcessingInProgress || got.CurrentStage != "transcribe" || len(got.StagesRemaining) != 2 ||
		got.Stages[0].Seconds != 0.25 || !got.Errors[0].Retryable || got.Config["ENABLE_QA_SCORING"] != true || !got.StartedAt.Equal(now) {
		t.Fatalf("Processing = %+v", got)
	}
	call, err := s.Call(ctx, tn.ID, c.ID)
	must(t, err)
	if call.ProcessingStatus != callscope.ProcessingInProgress {
		t.Fatalf("call processing status = %q", call.ProcessingStatus)
	}
	p.Status = callscope.ProcessingCompleted
	must(t, s.PutProcessing(ctx, p))
	counts, err := s.ProcessingCounts(ctx, tn.ID)
	must(t, err)
	if counts[callscope.ProcessingCompleted] != 1 || counts[callscope.ProcessingInProgress] != 0 {
		t.Fatalf("ProcessingCounts = %v", counts)
	}
}

func testAnalyzer(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	a := &callscope.Analyzer{TenantID: tn.ID, Name: "Sentiment Analyzer", Kind: "llm", Prompt: "Rate the sentiment.",
		OutputSchema: json.RawMessage(`{"type":"object"}`), Active: true}
	must(t, s.CreateAnalyzer(ctx, a))
	wantCode(t, s.CreateAnalyzer(ctx, &callscope.Analyzer{TenantID: tn.ID, Name: "Sentiment Analyzer", Kind: "llm"}), callscope.ECONFLICT)
	a.Prompt = "Rate the caller's sentiment."
	must(t, s.UpdateAnalyzer(ctx, a))
	got, err := s.Analyzer(ctx, tn.ID, a.ID)
	must(t, err)
	if got.Version != 2 || got.Prompt != a.Prompt {
		t.Fatalf("Analyzer = %+v", got)
	}
	other := sqlstoretest.MustTenant(t, s)
	_, err = s.Analyzer(ctx, other.ID, a.ID)
	wantCode(t, err, callscope.ENOTFOUND)

	c := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	for i := 0; i < 2; i++ {
		must(t, s.AppendAnalyzerRun(ctx, &callscope.AnalyzerRun{TenantID: tn.ID, CallID: c.ID, AnalyzerID: a.ID,
			AnalyzerName: a.Name, AnalyzerVersion: a.Version, AnalysisText: fmt.Sprintf("run %d", i)}))
	}
	runs, err := s.AnalyzerRuns(ctx, c.ID)
	must(t, err)
	if len(runs) != 2 || runs[0].AnalysisText != "run 0" || runs[1].AnalysisText != "run 1" {
		t.Fatalf("AnalyzerRuns = %+v", runs)
	}
	active, err := s.Analyzers(ctx, tn.ID, true)
	must(t, err)
	if len(active) != 1 {
		t.Fatalf("active analyzers = %d", len(active))
	}
	must(t, s.DeleteAnalyzer(ctx, tn.ID, a.ID))
	wantCode(t, s.DeleteAnalyzer(ctx, tn.ID, a.ID), callscope.ENOTFOUND)
	runs, err = s.AnalyzerRuns(ctx, c.ID)
	must(t, err)
	if len(runs) != 2 {
		t.Fatalf("runs lost with their analyzer: %d", len(runs))
	}
}

func testEventDelivery(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	e := &callscope.Event{TenantID: tn.ID, CallID: c.ID, Type: callscope.EventCallCompleted, Data: json.RawMessage(`{"duration":12}`)}
	must(t, s.CreateEvent(ctx, e))
	n, err := s.UndispatchedEvents(ctx, tn.ID)
	must(t, err)
	if n != 1 {
		t.Fatalf("undispatched = %d", n)
	}
	got, err := s.ClaimEvents(ctx, []string{e.ID, "evt_missing"}, time.Now())
	must(t, err)
	if len(got) != 1 || got[0].ID != e.ID {
		t.Fatalf("claimed %+v, want the one event", got)
	}
	got, err = s.ClaimEvents(ctx, []string{e.ID}, time.Now())
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("claimed again: %+v", got)
	}
	one, err := s.Event(ctx, e.ID)
	must(t, err)
	if one.Type != callscope.EventCallCompleted || one.TenantID != tn.ID {
		t.Fatalf("Event = %+v", one)
	}
	_, err = s.Event(ctx, "evt_missing")
	wantCode(t, err, callscope.ENOTFOUND)
	n, err = s.UndispatchedEvents(ctx, tn.ID)
	must(t, err)
	if n != 0 {
		t.Fatalf("undispatched after mark = %d", n)
	}
	evs, err := s.Events(ctx, tn.ID, c.ID)
	must(t, err)
	if len(evs) != 1 || string(evs[0].Data) == "" {
		t.Fatalf("Events = %+v", evs)
	}

	// Claiming hands each undispatched event out once, in the order asked.
	var ids []string
	for _, typ := range []string{callscope.EventTranscriptionReady, callscope.EventRecordingReady, callscope.EventCallFailed} {
		e := &callscope.Event{TenantID: tn.ID, CallID: c.ID, Type: typ, Data: json.RawMessage(`{"n":1}`)}
		must(t, s.CreateEvent(ctx, e))
		ids = append(ids, e.ID)
	}
	claimed, err := s.ClaimEvents(ctx, []string{ids[2], e.ID, "evt_missing", ids[0], ids[2]}, time.Now())
	must(t, err)
	if len(claimed) != 2 || claimed[0].ID != ids[2] || claimed[1].ID != ids[0] || claimed[0].Type != callscope.EventCallFailed ||
		string(claimed[1].Data) != `{"n": 1}` && string(claimed[1].Data) != `{"n":1}` || claimed[0].TenantID != tn.ID || claimed[0].CreatedAt.IsZero() {
		t.Fatalf("ClaimEvents = %+v", claimed)
	}
	claimed, err = s.ClaimEvents(ctx, ids, time.Now())
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != ids[1] {
		t.Fatalf("second ClaimEvents = %+v", claimed)
	}

	// Claiming what waits: oldest first, each event once.
	for {
		rest, err := s.ClaimUndispatchedEvents(ctx, 100, time.Now())
		must(t, err)
		if len(rest) == 0 {
			break
		}
	}
	ids = nil
	for i := 0; i < 3; i++ {
		e := &callscope.Event{TenantID: tn.ID, CallID: c.ID, Type: callscope.EventCallStarted}
		must(t, s.CreateEvent(ctx, e))
		ids = append(ids, e.ID)
	}
	if waiting, err := s.HasUndispatchedEvents(ctx); err != nil || !waiting {
		t.Fatalf("HasUndispatchedEvents = %v, %v", waiting, err)
	}
	waiting, err := s.UndispatchedEventIDs(ctx, 10, ids[1])
	must(t, err)
	if len(waiting) != 2 || waiting[0] != ids[0] || waiting[1] != ids[2] {
		t.Fatalf("UndispatchedEventIDs skipping the second = %v", waiting)
	}
	claimed, err = s.ClaimUndispatchedEvents(ctx, 2, time.Now(), ids[1])
	must(t, err)
	if len(claimed) != 2 || claimed[0].ID != ids[0] || claimed[1].ID != ids[2] || claimed[0].TenantID != tn.ID {
		t.Fatalf("ClaimUndispatchedEvents(2) skipping the second = %+v", claimed)
	}
	claimed, err = s.ClaimUndispatchedEvents(ctx, 2, time.Now())
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != ids[1] {
		t.Fatalf("ClaimUndispatchedEvents again = %+v", claimed)
	}
	if waiting, err := s.HasUndispatchedEvents(ctx); err != nil || waiting {
		t.Fatalf("HasUndispatchedEvents after claiming = %v, %v", waiting, err)
	}
	d := &callscope.Delivery{TenantID: tn.ID, CallID: c.ID, EventID: e.ID, Channel: "webhook", Target: "https://example.com/hook",
		Payload: json.RawMessage(`{"type":"call.completed"}`)}
	must(t, s.CreateDelivery(ctx, d))
	d.Status, d.Attempts = callscope.DeliverySucceeded, 2
	now := time.Now().UTC().Truncate(time.Microsecond)
	d.DeliveredAt = &now
	must(t, s.UpdateDelivery(ctx, d))
	ds, err := s.Deliveries(ctx, tn.ID, c.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].Status != callscope.DeliverySucceeded || ds[0].Attempts != 2 || !ds[0].DeliveredAt.Equal(now) {
		t.Fatalf("Deliveries = %+v", ds)
	}
}

func testRollback(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID, "rolled-back")
	err := s.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateCall(ctx, c); err != nil {
			return err
		}
		if _, err := tx.Call(ctx, tn.ID, "rolled-back"); err != nil {
			return err
		}
		return fmt.Errorf("abort")
	})
	if err == nil || err.Error() != "abort" {
		t.Fatalf("InTx error = %v", err)
	}
	_, err = s.Call(ctx, tn.ID, "rolled-back")
	wantCode(t, err, callscope.ENOTFOUND)
}

// testConcurrentTx runs many transactions at once (on SQLite they share
// commits): the ones that fail or panic leave nothing behind, the others all
// commit.
func testConcurrentTx(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = s.InTx(ctx, func(tx *sqlstore.Tx) error {
				if err := tx.CreateCall(ctx, newCall(tn.ID, fmt.Sprintf("tx-%d", i))); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return fmt.Errorf("member %d fails", i)
				case 2:
					if i%2 == 0 {
						panic(fmt.Sprintf("member %d panics", i))
					}
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		_, getErr := s.Call(ctx, tn.ID, fmt.Sprintf("tx-%d", i))
		failed := i%3 == 1 || (i%3 == 2 && i%2 == 0)
		if failed {
			if err == nil || callscope.ErrorCode(getErr) != callscope.ENOTFOUND {
				t.Fatalf("member %d: err %v, left %v", i, err, getErr)
			}
		} else if err != nil || getErr != nil {
			t.Fatalf("member %d: err %v, get %v", i, err, getErr)
		}
	}
}

func testActiveCalls(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	other := sqlstoretest.MustTenant(t, s)
	live := map[callscope.CallStatus]*callscope.Call{}
	for i, st := range []callscope.CallStatus{callscope.CallInitiating, callscope.CallRinging, callscope.CallInProgress,
		callscope.CallEnding, callscope.CallCompleted, callscope.CallScheduled, callscope.CallFailed} {
		c := newCall(tn.ID, fmt.Sprintf("active-%d", i))
		c.Status = st
		c.AudioSeconds = float64(10 * (i + 1))
		must(t, s.CreateCall(ctx, c))
		must(t, s.PutSegments(ctx, c.ID, []callscope.Segment{
			{SegmentID: 1, StartTime: 5, EndTime: 6, Text: "second"},
			{SegmentID: 0, StartTime: 0, EndTime: 1, Text: "first"},
		}))
		live[st] = c
	}
	// Another tenant's live call is not listed.
	must(t, s.CreateCall(ctx, newCall(other.ID, "active-0")))

	calls, segs, err := s.ActiveCalls(ctx, tn.ID)
	must(t, err)
	var got []callscope.CallStatus
	for _, c := range calls {
		got = append(got, c.Status)
		if len(c.ExternalIDs) != 1 || c.TenantID != tn.ID {
			t.Fatalf("active call %+v lacks its external id or is another tenant's", c)
		}
		ss := segs[c.ID]
		if len(ss) != 2 || ss[0].Text != "first" || ss[1].Text != "second" || ss[0].CallID != c.ID {
			t.Fatalf("segments of %s = %+v, want first, second", c.ID, ss)
		}
	}
	want := []callscope.CallStatus{callscope.CallInitiating, callscope.CallRinging, callscope.CallInProgress, callscope.CallEnding}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("active statuses = %v, want %v (oldest first)", got, want)
	}

	st, err := s.SessionStats(ctx, tn.ID)
	must(t, err)
	if st.Active != 4 || st.Segments != 8 || st.AudioSeconds != 10+20+30+40 ||
		!reflect.DeepEqual(st.CallIDs, []string{"active-0", "active-1", "active-2", "active-3"}) {
		t.Fatalf("SessionStats = %+v", st)
	}
	t.Run("Empty", func(t *testing.T) {
		empty := sqlstoretest.MustTenant(t, s)
		calls, segs, err := s.ActiveCalls(ctx, empty.ID)
		must(t, err)
		st, err := s.SessionStats(ctx, empty.ID)
		must(t, err)
		if len(calls) != 0 || len(segs) != 0 || st.Active != 0 || st.CallIDs == nil || len(st.CallIDs) != 0 {
			t.Fatalf("empty tenant: %v %v %+v", calls, segs, st)
		}
	})
}

func testAppendSegments(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID, "append-1")
	c.AudioSeconds = 2
	must(t, s.CreateCall(ctx, c))
	at := time.Date(2025, 10, 24, 9, 0, 0, 0, time.UTC)
	batch := []callscope.Segment{
		{SegmentID: -1, Speaker: "caller", StartTime: 0, EndTime: 3.5, Text: "Habari"},
		{SegmentID: 7, Speaker: "agent", StartTime: 3.5, EndTime: 6.25, Text: "Karibu"},
		{SegmentID: -1, Speaker: "caller", StartTime: 6.25, EndTime: 9, Text: "Asante"},
	}
	var count int
	var audio float64
	must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		count, audio, err = tx.AppendSegments(ctx, c.ID, batch, at)
		return err
	}))
	// Ids are assigned after the highest the call or the batch has.
	if batch[0].SegmentID != 8 || batch[2].SegmentID != 9 || count != 3 || audio != 9 {
		t.Fatalf("after append: ids %d,%d count %d audio %g", batch[0].SegmentID, batch[2].SegmentID, count, audio)
	}
	// The same segments again change nothing.
	must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		count, audio, err = tx.AppendSegments(ctx, c.ID, batch, at.Add(time.Second))
		return err
	}))
	got, err := s.Call(ctx, tn.ID, c.ID)
	must(t, err)
	if count != 3 || audio != 9 || got.AudioSeconds != 9 || !got.LastActivity.Equal(at.Add(time.Second)) {
		t.Fatalf("after second append: count %d audio %g call %+v", count, audio, got)
	}
	// Audio seconds never shrink: the live stream may be ahead of the text.
	got.AudioSeconds = 30
	must(t, s.UpdateCall(ctx, got))
	must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
		count, audio, err = tx.AppendSegments(ctx, c.ID, []callscope.Segment{{SegmentID: -1, StartTime: 9, EndTime: 12, Text: "Kwaheri"}}, at)
		return err
	}))
	if count != 4 || audio != 30 {
		t.Fatalf("count %d audio %g, want 4 and 30", count, audio)
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		err := s.InTx(ctx, func(tx *sqlstore.Tx) error {
			_, _, err := tx.AppendSegments(ctx, "no-such-call", nil, at)
			return err
		})
		wantCode(t, err, callscope.ENOTFOUND)
	})
}

func testAppendSegmentsConcurrent(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- s.InTx(ctx, func(tx *sqlstore.Tx) error {
				_, _, err := tx.AppendSegments(ctx, c.ID, []callscope.Segment{{SegmentID: -1, StartTime: float64(i), EndTime: float64(i) + 1, Text: fmt.Sprint(i)}}, time.Now())
				return err
			})
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	// Concurrent appends without ids never take the same id.
	got, err := s.Segments(ctx, c.ID)
	must(t, err)
	if len(got) != 20 {
		t.Fatalf("%d segments after 20 concurrent appends, want 20", len(got))
	}
}

func testSearchCalls(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	base := time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 5; i++ {
		c := newCall(tn.ID, fmt.Sprintf("search-%d", i))
		start := base.Add(time.Duration(4-i) * time.Hour) // started in the reverse order of creation
		c.StartedAt = &start
		c.DurationSeconds = float64([]int{30, 10, 50, 20, 40}[i])
		if i == 3 {
			c.Summary = json.RawMessage(`{"text":"Caller reports a missing CHILD in Kibera 50%_off"}`)
		}
		must(t, s.CreateCall(ctx, c))
		ids = append(ids, c.ID)
	}
	must(t, s.PutSegments(ctx, ids[1], []callscope.Segment{{SegmentID: 0, EndTime: 1, Text: "My child is missing"}}))
	must(t, s.PutSegments(ctx, ids[2], []callscope.Segment{{SegmentID: 0, EndTime: 1, Text: "school fees"}}))
	search := func(cq callscope.CallQuery) []string {
		t.Helper()
		cq.TenantID = tn.ID
		cs, err := s.SearchCalls(ctx, cq)
		must(t, err)
		out := []string{}
		for _, c := range cs {
			out = append(out, c.PublicID())
		}
		return out
	}
	for _, c := range []struct {
		name string
		cq   callscope.CallQuery
		want []string
	}{
		{"Default", callscope.CallQuery{}, []string{"search-4", "search-3", "search-2", "search-1", "search-0"}},
		{"CreatedAsc", callscope.CallQuery{Ascending: true}, []string{"search-0", "search-1", "search-2", "search-3", "search-4"}},
		{"CreatedAfterCursor", callscope.CallQuery{CallFilter: callscope.CallFilter{After: ids[2]}}, []string{"search-1", "search-0"}},
		{"CreatedAscAfterCursor", callscope.CallQuery{CallFilter: callscope.CallFilter{After: ids[2]}, Ascending: true}, []string{"search-3", "search-4"}},
		{"StartTimeAsc", callscope.CallQuery{Sort: callscope.SortStartTime, Ascending: true}, []string{"search-4", "search-3", "search-2", "search-1", "search-0"}},
		{"DurationDesc", callscope.CallQuery{Sort: callscope.SortDuration}, []string{"search-2", "search-4", "search-0", "search-3", "search-1"}},
		{"DurationOffset", callscope.CallQuery{Sort: callscope.SortDuration, CallFilter: callscope.CallFilter{Limit: 2}, Offset: 2}, []string{"search-0", "search-3"}},
		{"StartBounds", callscope.CallQuery{StartFrom: ptr(base.Add(time.Hour)), StartTo: ptr(base.Add(3 * time.Hour))}, []string{"search-3", "search-2"}},
		{"TextInSegmentIgnoresCase", callscope.CallQuery{Text: "CHILD"}, []string{"search-3", "search-1"}},
		{"TextInSummary", callscope.CallQuery{Text: "kibera"}, []string{"search-3"}},
		{"TextWildcardsAreLiteral", callscope.CallQuery{Text: "50%_"}, []string{"search-3"}},
		{"TextWildcardsDoNotMatchAnything", callscope.CallQuery{Text: "%"}, []string{"search-3"}},
		{"TextNoMatch", callscope.CallQuery{Text: "nothing like this"}, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := search(c.cq); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	t.Run("ErrInvalid/Sort", func(t *testing.T) {
		_, err := s.SearchCalls(ctx, callscope.CallQuery{CallFilter: callscope.CallFilter{TenantID: tn.ID}, Sort: "id; DROP TABLE calls"})
		wantCode(t, err, callscope.EINVALID)
	})
	t.Run("OtherTenant", func(t *testing.T) {
		other := sqlstoretest.MustTenant(t, s)
		cs, err := s.SearchCalls(ctx, callscope.CallQuery{CallFilter: callscope.CallFilter{TenantID: other.ID}, Text: "child"})
		must(t, err)
		if len(cs) != 0 {
			t.Fatalf("another tenant found %d calls", len(cs))
		}
	})
}

func ptr[T any](v T) *T { return &v }

func testEvolution(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	snap := func(kind string, i int, data string) *callscope.EvolutionSnapshot {
		return &callscope.EvolutionSnapshot{CallID: c.ID, TenantID: tn.ID, Kind: kind, WindowIndex: i,
			WindowStart: float64(i * 15), WindowEnd: float64(i*15 + 20), Data: json.RawMessage(data)}
	}
	must(t, s.AppendEvolution(ctx, snap(callscope.EvolutionEntity, 1, `{"persons":["Amina","Juma"]}`)))
	must(t, s.AppendEvolution(ctx, snap(callscope.EvolutionEntity, 0, `{"persons":["Amina"]}`)))
	must(t, s.AppendEvolution(ctx, snap(callscope.EvolutionClassification, 0, `{"category":"child_protection"}`)))
	must(t, s.AppendEvolution(ctx, snap(callscope.EvolutionTranslation, 0, `{"translation":"Hello"}`)))
	// Writing a window again replaces it.
	must(t, s.AppendEvolution(ctx, snap(callscope.EvolutionEntity, 1, `{"persons":["Amina","Juma","Wanjiru"]}`)))

	ents, err := s.Evolution(ctx, c.ID, callscope.EvolutionEntity)
	must(t, err)
	if len(ents) != 2 || ents[0].WindowIndex != 0 || ents[1].WindowIndex != 1 || ents[1].WindowStart != 15 || ents[1].WindowEnd != 35 ||
		ents[1].CreatedAt.IsZero() || ents[1].TenantID != tn.ID {
		t.Fatalf("entity evolution = %+v", ents)
	}
	var d map[string][]string
	must(t, json.Unmarshal(ents[1].Data, &d))
	if len(d["persons"]) != 3 {
		t.Fatalf("window 1 was not replaced: %s", ents[1].Data)
	}
	all, err := s.Evolution(ctx, c.ID, "")
	must(t, err)
	var kinds []string
	for _, x := range all {
		kinds = append(kinds, fmt.Sprintf("%d:%s", x.WindowIndex, x.Kind))
	}
	if want := []string{"0:classification", "0:entity", "0:translation", "1:entity"}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("all snapshots = %v, want %v", kinds, want)
	}
	none, err := s.Evolution(ctx, "no-such-call", "")
	must(t, err)
	if none == nil || len(none) != 0 {
		t.Fatalf("snapshots of an unknown call = %v, want empty", none)
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, s.AppendEvolution(ctx, snap("mood", 0, `{}`)), callscope.EINVALID)
		wantCode(t, s.AppendEvolution(ctx, snap(callscope.EvolutionEntity, -1, `{}`)), callscope.EINVALID)
		wantCode(t, s.AppendEvolution(ctx, snap(callscope.EvolutionEntity, 2, `{not json`)), callscope.EINVALID)
	})
	t.Run("DeletedWithCall", func(t *testing.T) {
		// Snapshots belong to their call: a snapshot of an unknown call is refused.
		err := s.AppendEvolution(ctx, &callscope.EvolutionSnapshot{CallID: "no-such-call", TenantID: tn.ID, Kind: callscope.EvolutionEntity})
		if err == nil {
			t.Fatal("snapshot of an unknown call was stored")
		}
	})
}

func testAnalyzerRunOnce(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c, other := newCall(tn.ID), newCall(tn.ID)
	must(t, s.CreateCall(ctx, c))
	must(t, s.CreateCall(ctx, other))
	a := &callscope.Analyzer{TenantID: tn.ID, Name: "Summary", Kind: "builtin", Prompt: "summary", Active: true}
	must(t, s.CreateAnalyzer(ctx, a))
	run := func(text string) *callscope.AnalyzerRun {
		return &callscope.AnalyzerRun{TenantID: tn.ID, CallID: c.ID, AnalyzerID: a.ID, AnalyzerName: a.Name,
			AnalyzerVersion: a.Version, AnalysisText: text, Output: json.RawMessage(`{"n":1}`)}
	}
	// A run without a key (the pipeline's) never conflicts with keyed ones.
	must(t, s.AppendAnalyzerRun(ctx, run("pipeline")))
	first := run("job 1")
	ok, err := s.AppendAnalyzerRunOnce(ctx, first, "job:1")
	must(t, err)
	if !ok || first.ID == "" || first.CreatedAt.IsZero() {
		t.Fatalf("first append: ok=%v run=%+v", ok, first)
	}
	again := run("job 1 again")
	ok, err = s.AppendAnalyzerRunOnce(ctx, again, "job:1")
	must(t, err)
	if ok || again.ID != "" {
		t.Fatalf("second append under the same key: ok=%v run=%+v", ok, again)
	}
	ok, err = s.AppendAnalyzerRunOnce(ctx, run("job 2"), "job:2")
	must(t, err)
	if !ok {
		t.Fatal("append under another key was refused")
	}
	_, err = s.AppendAnalyzerRunOnce(ctx, run("no key"), "")
	wantCode(t, err, callscope.EINVALID)
	runs, err := s.AnalyzerRuns(ctx, c.ID)
	must(t, err)
	var texts []string
	for _, r := range runs {
		texts = append(texts, r.AnalysisText)
	}
	if want := []string{"pipeline", "job 1", "job 2"}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("runs = %q, want %q", texts, want)
	}
	for _, c := range []struct {
		call, key string
		want      bool
	}{{c.ID, "job:1", true}, {c.ID, "job:3", false}, {other.ID, "job:1", false}} {
		got, err := s.HasAnalyzerRun(ctx, c.call, a.ID, c.key)
		must(t, err)
		if got != c.want {
			t.Fatalf("HasAnalyzerRun(%s, %s) = %v, want %v", c.call, c.key, got, c.want)
		}
	}

	must(t, s.CreateRecording(ctx, &callscope.Recording{TenantID: tn.ID, CallID: other.ID, Format: "mp3", ContentType: "audio/mpeg"}))
	must(t, s.CreateRecording(ctx, &callscope.Recording{TenantID: tn.ID, CallID: other.ID, Format: "wav", ContentType: "audio/wav"}))
	with, err := s.CallsWithRecordings(ctx, []string{c.ID, other.ID})
	must(t, err)
	if with[c.ID] || !with[other.ID] || len(with) != 1 {
		t.Fatalf("CallsWithRecordings = %v", with)
	}
}

func testBackfill(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	a := &callscope.Analyzer{TenantID: tn.ID, Name: "Keywords", Kind: "builtin", Prompt: "keywords: refund", Active: true}
	must(t, s.CreateAnalyzer(ctx, a))
	seg := []callscope.Segment{{SegmentID: 1, Speaker: "caller", StartTime: 0, EndTime: 2, Text: "I want a refund"}}
	var withText []string // newest last
	mk := func(status callscope.CallStatus, transcript bool) *callscope.Call {
		c := newCall(tn.ID)
		c.Status = status
		must(t, s.CreateCall(ctx, c))
		if transcript {
			must(t, s.PutSegments(ctx, c.ID, seg))
			withText = append(withText, c.ID)
		}
		return c
	}
	for i := 0; i < 4; i++ {
		mk(callscope.CallCompleted, true)
	}
	failedCall := mk(callscope.CallFailed, true)
	mk(callscope.CallCompleted, false)
	// Another tenant's calls are never selected.
	tn2 := sqlstoretest.MustTenant(t, s)
	oc := newCall(tn2.ID)
	must(t, s.CreateCall(ctx, oc))
	must(t, s.PutSegments(ctx, oc.ID, seg))

	for _, c := range []struct {
		name   string
		filter callscope.BackfillFilter
		want   int
	}{
		{"All", callscope.BackfillFilter{}, 5},
		{"Status", callscope.BackfillFilter{Status: []callscope.CallStatus{callscope.CallCompleted}}, 4},
		{"Limit", callscope.BackfillFilter{Limit: 2}, 2},
		{"Future", callscope.BackfillFilter{From: ptrTime(time.Now().Add(time.Hour))}, 0},
		{"Past", callscope.BackfillFilter{To: ptrTime(time.Now().Add(-time.Hour))}, 0},
	} {
		t.Run("Total/"+c.name, func(t *testing.T) {
			b := &callscope.Backfill{TenantID: tn.ID, AnalyzerID: a.ID, Filter: c.filter}
			must(t, s.CreateBackfill(ctx, b))
			if b.Total != c.want || b.Status != callscope.BackfillQueued {
				t.Fatalf("total = %d status = %s, want %d queued", b.Total, b.Status, c.want)
			}
			got, err := s.Backfill(ctx, tn.ID, b.ID)
			must(t, err)
			gotF, _ := json.Marshal(got.Filter)
			wantF, _ := json.Marshal(c.filter)
			if string(gotF) != string(wantF) {
				t.Fatalf("filter = %s, want %s", gotF, wantF)
			}
		})
	}

	b := &callscope.Backfill{TenantID: tn.ID, AnalyzerID: a.ID}
	must(t, s.CreateBackfill(ctx, b))
	// A call created after the backfill is not part of it.
	mk(callscope.CallCompleted, true)
	running, err := s.StartBackfill(ctx, b.ID)
	must(t, err)
	if !running {
		t.Fatal("StartBackfill = false for a queued backfill")
	}
	var walked []string
	for {
		ids, err := s.BackfillCalls(ctx, b, 2)
		must(t, err)
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			var failure error
			if id == failedCall.ID {
				failure = fmt.Errorf("engine said no")
			}
			must(t, s.AdvanceBackfill(ctx, b.ID, id, failure))
			b.ResumeAfter = id
			walked = append(walked, id)
		}
	}
	var want []string
	for i := len(withText) - 2; i >= 0; i-- { // newest first, without the late call
		want = append(want, withText[i])
	}
	if !reflect.DeepEqual(walked, want) {
		t.Fatalf("walked %v, want %v", walked, want)
	}
	got, err := s.Backfill(ctx, tn.ID, b.ID)
	must(t, err)
	if got.Status != callscope.BackfillRunning || got.Total != 5 || got.Done != 4 || got.Failed != 1 ||
		got.LastError != "engine said no" || got.ResumeAfter != walked[len(walked)-1] || got.StartedAt == nil {
		t.Fatalf("progress = %+v", got)
	}
	// Resuming from the stored cursor finds nothing left.
	if ids, err := s.BackfillCalls(ctx, got, 10); err != nil || len(ids) != 0 {
		t.Fatalf("after the last call: %v %v", ids, err)
	}
	ok, err := s.FinishBackfill(ctx, b.ID, callscope.BackfillCompleted, nil)
	must(t, err)
	if !ok {
		t.Fatal("FinishBackfill = false for a running backfill")
	}
	got, err = s.Backfill(ctx, tn.ID, b.ID)
	must(t, err)
	if got.Status != callscope.BackfillCompleted || got.FinishedAt == nil || !got.Finished() {
		t.Fatalf("finished = %+v", got)
	}
	t.Run("ErrConflict/CancelFinished", func(t *testing.T) {
		_, err := s.CancelBackfill(ctx, tn.ID, b.ID)
		wantCode(t, err, callscope.ECONFLICT)
	})

	t.Run("Cancel", func(t *testing.T) {
		c := &callscope.Backfill{TenantID: tn.ID, AnalyzerID: a.ID}
		must(t, s.CreateBackfill(ctx, c))
		_, err := s.StartBackfill(ctx, c.ID)
		must(t, err)
		_, err = s.CancelBackfill(ctx, tn2.ID, c.ID)
		wantCode(t, err, callscope.ENOTFOUND)
		got, err := s.CancelBackfill(ctx, tn.ID, c.ID)
		must(t, err)
		if got.Status != callscope.BackfillCancelled || got.CancelledAt == nil || got.FinishedAt == nil {
			t.Fatalf("cancelled = %+v", got)
		}
		wantCode(t, s.AdvanceBackfill(ctx, c.ID, withText[0], nil), callscope.ECONFLICT)
		if running, err := s.StartBackfill(ctx, c.ID); err != nil || running {
			t.Fatalf("StartBackfill after cancel = %v, %v", running, err)
		}
		if ok, err := s.FinishBackfill(ctx, c.ID, callscope.BackfillCompleted, nil); err != nil || ok {
			t.Fatalf("FinishBackfill after cancel = %v, %v", ok, err)
		}
		_, err = s.CancelBackfill(ctx, tn.ID, c.ID)
		wantCode(t, err, callscope.ECONFLICT)
	})
	t.Run("Fail", func(t *testing.T) {
		c := &callscope.Backfill{TenantID: tn.ID, AnalyzerID: a.ID}
		must(t, s.CreateBackfill(ctx, c))
		ok, err := s.FinishBackfill(ctx, c.ID, callscope.BackfillFailed, fmt.Errorf("the analyzer was deleted"))
		must(t, err)
		got, err := s.Backfill(ctx, tn.ID, c.ID)
		must(t, err)
		if !ok || got.Status != callscope.BackfillFailed || got.LastError != "the analyzer was deleted" {
			t.Fatalf("failed = %v %+v", ok, got)
		}
		_, err = s.FinishBackfill(ctx, c.ID, callscope.BackfillCancelled, nil)
		wantCode(t, err, callscope.EINVALID)
	})
	t.Run("List", func(t *testing.T) {
		list, err := s.Backfills(ctx, tn.ID, a.ID)
		must(t, err)
		if len(list) != 8 || list[0].ID < list[len(list)-1].ID {
			t.Fatalf("Backfills = %d, newest first: %v", len(list), list[0].ID > list[len(list)-1].ID)
		}
		if other, err := s.Backfills(ctx, tn2.ID, a.ID); err != nil || len(other) != 0 {
			t.Fatalf("another tenant's list = %d %v", len(other), err)
		}
		_, err = s.Backfill(ctx, tn2.ID, b.ID)
		wantCode(t, err, callscope.ENOTFOUND)
	})
}

func ptrTime(t time.Time) *time.Time {
	t = callscope.Timestamp(t)
	return &t
}

func testWebhookEndpoint(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	other := sqlstoretest.MustTenant(t, s)
	w := &callscope.WebhookEndpoint{TenantID: tn.ID, URL: "https://example.com/hook", EventTypes: []string{"call.completed"},
		Enabled: true, Secret: "whsec_a"}
	must(t, s.CreateWebhookEndpoint(ctx, w))
	got, err := s.WebhookEndpoint(ctx, tn.ID, w.ID)
	must(t, err)
	if got.URL != w.URL || !got.Enabled || !reflect.DeepEqual(got.EventTypes, []string{"call.completed"}) || got.Secret != "whsec_a" ||
		got.PreviousSecretExpiresAt != nil || !got.Wants("call.completed") || got.Wants("call.failed") {
		t.Fatalf("WebhookEndpoint = %+v", got)
	}
	_, err = s.WebhookEndpoint(ctx, other.ID, w.ID)
	wantCode(t, err, callscope.ENOTFOUND)

	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	got.Enabled, got.DisabledReason, got.PreviousSecret, got.PreviousSecretExpiresAt, got.EventTypes = false, "gone", "whsec_a", &exp, nil
	got.Secret = "whsec_b"
	must(t, s.UpdateWebhookEndpoint(ctx, got))
	again, err := s.WebhookEndpoint(ctx, tn.ID, w.ID)
	must(t, err)
	if again.Enabled || again.DisabledReason != "gone" || again.Secret != "whsec_b" || again.PreviousSecret != "whsec_a" ||
		again.PreviousSecretExpiresAt == nil || !again.PreviousSecretExpiresAt.Equal(exp) || len(again.EventTypes) != 0 || !again.Wants("x") {
		t.Fatalf("after update = %+v", again)
	}
	enabled, err := s.WebhookEndpoints(ctx, tn.ID, true)
	must(t, err)
	all, err := s.WebhookEndpoints(ctx, tn.ID, false)
	must(t, err)
	if len(enabled) != 0 || len(all) != 1 {
		t.Fatalf("endpoints: %d enabled, %d in all; want 0 and 1", len(enabled), len(all))
	}
	wantCode(t, s.DeleteWebhookEndpoint(ctx, other.ID, w.ID), callscope.ENOTFOUND)
	must(t, s.DeleteWebhookEndpoint(ctx, tn.ID, w.ID))
	wantCode(t, s.DeleteWebhookEndpoint(ctx, tn.ID, w.ID), callscope.ENOTFOUND)
}

func testWebhookDelivery(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	var ids []string
	for i := 0; i < 2; i++ {
		d := &callscope.WebhookDelivery{Delivery: callscope.Delivery{TenantID: tn.ID, EventID: fmt.Sprintf("evt_%d", i), Channel: "webhook",
			Target: "https://example.com", Payload: json.RawMessage(`{"type":"call.completed"}`)}, EndpointID: "wh_1", MessageID: fmt.Sprintf("evt_%d", i)}
		must(t, s.CreateWebhookDelivery(ctx, d))
		ids = append(ids, d.ID)
		time.Sleep(2 * time.Millisecond)
	}
	list, err := s.WebhookDeliveries(ctx, tn.ID, "wh_1", 10)
	must(t, err)
	if len(list) != 2 || list[0].ID != ids[1] || list[0].MessageID != "evt_1" || list[0].Status != callscope.DeliveryPending {
		t.Fatalf("WebhookDeliveries = %+v, want newest first", list)
	}
	_, err = s.WebhookDelivery(ctx, "other", ids[0])
	wantCode(t, err, callscope.ENOTFOUND)
	d, err := s.WebhookDelivery(ctx, "", ids[0])
	must(t, err)
	must(t, s.AddDeliveryAttempt(ctx, &callscope.DeliveryAttempt{DeliveryID: d.ID, Attempt: 2, AttemptedAt: time.Now(), StatusCode: 200, LatencyMS: 7, Response: strings.Repeat("x", 5000)}))
	must(t, s.AddDeliveryAttempt(ctx, &callscope.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, AttemptedAt: time.Now(), Error: "refused"}))
	at, err := s.DeliveryAttempts(ctx, ids)
	must(t, err)
	got := at[d.ID]
	if len(got) != 2 || got[0].Attempt != 1 || got[0].Error != "refused" || got[1].StatusCode != 200 || got[1].LatencyMS != 7 ||
		len(got[1].Response) != sqlstore.MaxAttemptResponse || len(at[ids[1]]) != 0 {
		t.Fatalf("DeliveryAttempts = %+v", at)
	}
}

func testCampaignReconcile(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	call := func(status callscope.CallStatus) *callscope.Call {
		c := newCall(tn.ID)
		c.CampaignID, c.To, c.Status = "camp-1", "+15550001", status
		must(t, s.CreateCall(ctx, c))
		return c
	}
	first := call(callscope.CallNoAnswer)
	t.Run("CallOutcomes", func(t *testing.T) {
		plain := newCall(tn.ID)
		must(t, s.CreateCall(ctx, plain))
		other := sqlstoretest.MustTenant(t, s)
		got, err := s.CallOutcomes(ctx, tn.ID, []string{first.ID, plain.ID, "missing"})
		must(t, err)
		if len(got) != 2 || got[first.ID].CampaignID != "camp-1" || got[first.ID].Status != callscope.CallNoAnswer ||
			got[first.ID].To != "+15550001" || got[first.ID].Direction != first.Direction || got[plain.ID].CampaignID != "" {
			t.Fatalf("CallOutcomes = %+v", got)
		}
		if got, err := s.CallOutcomes(ctx, other.ID, []string{first.ID}); err != nil || len(got) != 0 {
			t.Fatalf("another tenant's CallOutcomes = %+v, %v", got, err)
		}
	})
	cc, err := s.ReconcileCampaignCall(ctx, first, first.To)
	must(t, err)
	if cc.Attempts != 1 || cc.NextAction != callscope.CampaignRetry || cc.LastCallID != first.ID {
		t.Fatalf("after no answer: %+v", cc)
	}
	t.Run("IdempotentPerCall", func(t *testing.T) {
		cc, err := s.ReconcileCampaignCall(ctx, first, first.To)
		must(t, err)
		if cc.Attempts != 1 {
			t.Fatalf("reconciling a call twice counted %d attempts, want 1", cc.Attempts)
		}
	})
	second := call(callscope.CallCompleted)
	cc, err = s.ReconcileCampaignCall(ctx, second, second.To)
	must(t, err)
	if cc.Attempts != 2 || cc.NextAction != callscope.CampaignDone || cc.LastStatus != callscope.CallCompleted {
		t.Fatalf("after completion: %+v", cc)
	}
	t.Run("OlderCallDoesNotOverwrite", func(t *testing.T) {
		first.Status = callscope.CallBusy
		cc, err := s.ReconcileCampaignCall(ctx, first, first.To)
		must(t, err)
		if cc.Attempts != 2 || cc.LastCallID != second.ID || cc.NextAction != callscope.CampaignDone {
			t.Fatalf("an earlier call's new status changed the contact: %+v", cc)
		}
	})
	t.Run("Voicemail", func(t *testing.T) {
		c := call(callscope.CallVoicemail)
		c.To = "+15550002"
		cc, err := s.ReconcileCampaignCall(ctx, c, c.To)
		must(t, err)
		if cc.NextAction != callscope.CampaignVoicemail || cc.Attempts != 1 {
			t.Fatalf("voicemail: %+v", cc)
		}
		list, err := s.CampaignContacts(ctx, tn.ID, "camp-1")
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("contacts = %d, want 2", len(list))
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		c := newCall(tn.ID)
		c.Status = callscope.CallCompleted
		_, err := s.ReconcileCampaignCall(ctx, c, "+15550003")
		wantCode(t, err, callscope.EINVALID)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.CampaignContact(ctx, tn.ID, "camp-1", "+19999")
		wantCode(t, err, callscope.ENOTFOUND)
	})
}

// testClearSecretsDigested checks that Migrate turns results secrets an
// older version stored in the clear into digests that still authenticate.
func testClearSecretsDigested(t *testing.T, s *sqlstore.Store) {
	tn := &callscope.Tenant{Name: "legacy-secret"}
	must(t, s.CreateTenant(ctx, tn))
	const q = `UPDATE tenants SET results_secret = 'legacy-clear-secret-123' WHERE name = 'legacy-secret'`
	var err error
	if s.Dialect() == sqlstore.Postgres {
		_, err = s.Pool().Exec(ctx, q)
	} else {
		_, err = s.SQLDB().Exec(q)
	}
	must(t, err)
	_, err = s.Migrate(ctx)
	must(t, err)
	got, err := s.TenantByResultsSecret(ctx, "legacy-clear-secret-123")
	must(t, err)
	if got.ID != tn.ID || !sqlstore.IsSecretDigest(got.ResultsSecret) {
		t.Fatalf("after Migrate: %+v", got)
	}
}

// testAfterCommit checks that what a transaction registers with
// AfterCommit runs once it commits, and never for one that fails, also
// when transactions share a commit.
func testAfterCommit(t *testing.T, s *sqlstore.Store) {
	var mu sync.Mutex
	ran := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s.InTx(ctx, func(tx *sqlstore.Tx) error {
				tx.AfterCommit(func() { mu.Lock(); ran[i]++; mu.Unlock() })
				if i%2 == 1 {
					return fmt.Errorf("abort %d", i)
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < 20; i++ {
		want := 1 - i%2
		if ran[i] != want {
			t.Fatalf("transaction %d: after-commit ran %d times, want %d", i, ran[i], want)
		}
	}
}
