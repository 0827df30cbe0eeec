package call_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// tableRows returns, for every table of the store's database (read from
// the catalog, River's tables too), the text of each of its rows.
func tableRows(t *testing.T, s *sqlstore.Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	if s.Dialect() == sqlstore.Postgres {
		rs, err := s.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
		must(t, err)
		var tables []string
		for rs.Next() {
			var n string
			must(t, rs.Scan(&n))
			tables = append(tables, n)
		}
		rs.Close()
		for _, tb := range tables {
			rows, err := s.Pool().Query(ctx, `SELECT CAST(t AS TEXT) FROM "`+tb+`" AS t`)
			must(t, err)
			out[tb] = []string{}
			for rows.Next() {
				var v string
				must(t, rows.Scan(&v))
				out[tb] = append(out[tb], v)
			}
			rows.Close()
			must(t, rows.Err())
		}
		return out
	}
	db := s.SQLDB()
	rs, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	must(t, err)
	var tables []string
	for rs.Next() {
		var n string
		must(t, rs.Scan(&n))
		tables = append(tables, n)
	}
	rs.Close()
	for _, tb := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+tb+`"`)
		must(t, err)
		cols, err := rows.Columns()
		must(t, err)
		out[tb] = []string{}
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			must(t, rows.Scan(ptrs...))
			var b strings.Builder
			for _, v := range vals {
				b.Write(v)
				b.WriteByte('|')
			}
			out[tb] = append(out[tb], b.String())
		}
		rows.Close()
		must(t, rows.Err())
	}
	return out
}

// mentions lists the tables with a row whose text holds needle.
func mentions(t *testing.T, s *sqlstore.Store, needle string) []string {
	t.Helper()
	var out []string
	for tb, rows := range tableRows(t, s) {
		for _, r := range rows {
			if strings.Contains(r, needle) {
				out = append(out, tb)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// storedObjects lists the recording store's files whose path holds needle.
func storedObjects(t *testing.T, root, needle string) []string {
	t.Helper()
	var out []string
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(p, needle) {
			out = append(out, p)
		}
		return nil
	}))
	return out
}

// fullCall makes a call with something in every part of the record:
// external id, segments, a stored recording, events, processing and its
// job, an analyzer run, an evolution snapshot, a delivery with an attempt,
// campaign bookkeeping.
func fullCall(t *testing.T, svc *call.Service, s *sqlstore.Store, tenant *callscope.Tenant) *callscope.Call {
	t.Helper()
	ctx := context.Background()
	c := &callscope.Call{TenantID: tenant.ID, From: "+254700000001", CampaignID: "camp-1", Metadata: map[string]any{"contact": "+254700000001"},
		ExternalIDs: []callscope.ExternalID{{Kind: "pbx", Value: "pbx-" + callscope.NewID()}}}
	must(t, svc.Create(ctx, c))
	_, err := svc.AppendSegments(ctx, tenant.ID, c.ID, []callscope.Segment{
		{SegmentID: -1, Speaker: "caller", StartTime: 0, EndTime: 1, Text: "hello"},
		{SegmentID: -1, Speaker: "agent", StartTime: 1, EndTime: 2, Text: "hi"}})
	must(t, err)
	key := tenant.ID + "/" + c.ID + "/" + callscope.NewID() + ".wav"
	_, err = svc.Recordings.Put(ctx, key, strings.NewReader("RIFF"))
	must(t, err)
	must(t, svc.AttachRecording(ctx, c, &callscope.Recording{Format: "wav", StorageKey: key, AccessToken: callscope.NewID()}))
	ended, err := svc.End(ctx, tenant.ID, c.ID, "manual")
	must(t, err)
	_, err = s.AppendAnalyzerRunOnce(ctx, &callscope.AnalyzerRun{TenantID: tenant.ID, CallID: c.ID, AnalyzerID: "a1",
		AnalyzerName: "todos", AnalyzerVersion: 1, AnalysisText: "call back"}, "k1")
	must(t, err)
	must(t, s.AppendEvolution(ctx, &callscope.EvolutionSnapshot{CallID: c.ID, TenantID: tenant.ID, Kind: "entity",
		WindowIndex: 0, WindowEnd: 2, Data: json.RawMessage(`{"names":["x"]}`)}))
	must(t, svc.RecordProgress(ctx, c, []call.Snapshot{{EvolutionSnapshot: callscope.EvolutionSnapshot{Kind: "classification",
		WindowIndex: 0, WindowEnd: 2, Data: json.RawMessage(`{"category":"neglect"}`)}}}, nil))
	_, _, err = svc.CorrectClassification(ctx, tenant.ID, c.ID, call.Correction{Category: "neglect", Reviewer: "r"})
	must(t, err)
	events, err := s.Events(ctx, tenant.ID, c.ID)
	must(t, err)
	d := &callscope.Delivery{TenantID: tenant.ID, CallID: c.ID, EventID: events[0].ID, Channel: "webhook",
		Target: "https://example.com/hook", Status: callscope.DeliveryFailed, Payload: json.RawMessage(`{"call_id":"` + c.ID + `"}`)}
	must(t, s.CreateDelivery(ctx, d))
	must(t, s.AddDeliveryAttempt(ctx, &callscope.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, StatusCode: 500}))
	_, err = s.ReconcileCampaignCall(ctx, ended, "+254700000001")
	must(t, err)
	must(t, s.LogCampaign(ctx, &callscope.CampaignLogEntry{TenantID: tenant.ID, CampaignID: "camp-1", Contact: "+254700000001",
		CallID: c.ID, Event: callscope.LogOutcome, Reason: "completed"}))
	_, _, err = s.AddDoNotCall(ctx, &callscope.DoNotCallEntry{TenantID: tenant.ID, Number: "+254700000001",
		Source: callscope.DNCSourceOptOut, CallID: c.ID, Reason: "said: stop calling me"})
	must(t, err)
	return ended
}

// TestEraseLeavesNothing erases a call with something in every part of
// the record and then reads every table of the database and the recording
// store: no row and no object mentions the call or its external id, while
// another call of the tenant is untouched.
func TestEraseLeavesNothing(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		root := t.TempDir()
		svc.Recordings = blob.Dir{Root: root}
		tenant := sqlstoretest.MustTenant(t, s)
		c := fullCall(t, svc, s, tenant)
		other := fullCall(t, svc, s, tenant)
		ext := c.ExternalIDs[0].Value

		before := mentions(t, s, c.ID)
		for _, want := range []string{"analyzer_runs", "call_external_ids", "calls", "campaign_calls",
			"deliveries", "events", "evolution_snapshots", "processing", "recordings", "river_job", "segments",
			"live_events", "classification_corrections", "campaign_log", "do_not_call"} {
			if !contains(before, want) {
				t.Fatalf("before erasure, no row of %s mentions the call (tables mentioning it: %v): the check cannot see it", want, before)
			}
		}
		if len(storedObjects(t, root, c.ID)) == 0 {
			t.Fatal("before erasure, no stored object mentions the call")
		}

		t.Run("OtherTenantNotFound", func(t *testing.T) {
			stranger := sqlstoretest.MustTenant(t, s)
			_, err := svc.Erase(ctx, stranger.ID, c.ID, "test", "")
			if callscope.ErrorCode(err) != callscope.ENOTFOUND {
				t.Fatalf("erase from another tenant: %v, want ENOTFOUND", err)
			}
		})
		t.Run("ProcessingRefuses", func(t *testing.T) {
			p, err := s.Processing(ctx, c.ID)
			must(t, err)
			was := p.Status
			p.Status = callscope.ProcessingInProgress
			must(t, s.PutProcessing(ctx, p))
			if _, err := svc.Erase(ctx, tenant.ID, c.ID, "test", ""); callscope.ErrorCode(err) != callscope.ECONFLICT {
				t.Fatalf("erase of a call being processed: %v, want ECONFLICT", err)
			}
			p.Status = was
			must(t, s.PutProcessing(ctx, p))
		})
		t.Run("LegalHoldRefuses", func(t *testing.T) {
			_, err := svc.SetLegalHold(ctx, tenant.ID, ext, "api_key:k1", "case 42")
			must(t, err)
			if _, err := svc.Erase(ctx, tenant.ID, c.ID, "test", ""); callscope.ErrorCode(err) != callscope.ECONFLICT {
				t.Fatalf("erase of a held call: %v, want ECONFLICT", err)
			}
			must(t, svc.LiftLegalHold(ctx, tenant.ID, c.ID))
		})

		d, err := svc.Erase(ctx, tenant.ID, ext, "api_key:k1", "subject request")
		must(t, err)
		if d.CallID != c.ID || d.Removed["segments"] != 2 || d.Removed["recordings"] != 1 || d.Removed["recording_objects"] != 1 || d.Removed["jobs"] == 0 {
			t.Errorf("audit entry = %+v", d)
		}
		left := mentions(t, s, c.ID)
		if len(left) != 1 || left[0] != "deletions" {
			t.Errorf("after erasure, rows of %v mention the call, want only the audit log", left)
		}
		if left := mentions(t, s, ext); len(left) != 0 {
			t.Errorf("after erasure, rows of %v mention the call's external id", left)
		}
		if objs := storedObjects(t, root, c.ID); len(objs) != 0 {
			t.Errorf("after erasure, stored objects mention the call: %v", objs)
		}
		if _, err := s.Call(ctx, tenant.ID, c.ID); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Errorf("read after erasure: %v, want ENOTFOUND", err)
		}
		if _, err := svc.Erase(ctx, tenant.ID, c.ID, "test", ""); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Errorf("second erasure: %v, want ENOTFOUND", err)
		}

		// The other call keeps everything.
		still := mentions(t, s, other.ID)
		for _, want := range []string{"calls", "segments", "recordings", "events", "deliveries", "river_job"} {
			if !contains(still, want) {
				t.Errorf("the other call lost its %s rows", want)
			}
		}
		if len(storedObjects(t, root, other.ID)) == 0 {
			t.Error("the other call lost its stored recording")
		}

		log, err := s.Deletions(ctx, tenant.ID, 10)
		must(t, err)
		if len(log) != 1 || log[0].Actor != "api_key:k1" || log[0].Reason != "subject request" || log[0].CallID != c.ID {
			t.Errorf("audit log = %s", fmt.Sprint(log))
		}
	})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TestEraseOutboundCall erases an Auto-Caller call scheduled with an
// Idempotency-Key: its placing state and the stored answer go too.
func TestEraseOutboundCall(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		tenant := sqlstoretest.MustTenant(t, s)
		at := time.Now().Add(time.Hour)
		c := &callscope.Call{TenantID: tenant.ID, UserID: "user-1", To: "+254700000002", ScheduledAt: &at}
		ans, _, err := svc.Schedule(ctx, c, &callscope.OutboundCall{DurationMinutes: 15}, call.Idempotency{Key: "k-1", RequestHash: "h"})
		must(t, err)
		before := mentions(t, s, ans.CallID)
		for _, want := range []string{"idempotency_keys", "call_external_ids"} {
			if !contains(before, want) {
				t.Fatalf("before erasure, no row of %s mentions the call's callId (tables: %v)", want, before)
			}
		}
		if !contains(mentions(t, s, c.ID), "outbound_calls") {
			t.Fatal("before erasure, outbound_calls does not mention the call")
		}
		_, _, err = svc.Cancel(ctx, tenant.ID, "user-1", ans.CallID, call.Idempotency{Key: "k-2", RequestHash: "h2"})
		must(t, err)
		_, err = svc.Erase(ctx, tenant.ID, ans.CallID, "api_key:k1", "test")
		must(t, err)
		if left := mentions(t, s, ans.CallID); len(left) != 0 {
			t.Errorf("after erasure, rows of %v mention the callId", left)
		}
		if left := mentions(t, s, c.ID); len(left) != 1 || left[0] != "deletions" {
			t.Errorf("after erasure, rows of %v mention the call", left)
		}
	})
}
