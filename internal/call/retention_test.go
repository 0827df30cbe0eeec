package call_test

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
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestRetention applies a tenant's retention settings with an injected
// clock: a 30-day recordings policy removes exactly the recordings older
// than 30 days (rows and stored objects), none of a call under legal hold
// and none of another tenant; transcripts and the delivery log expire by
// their own periods; a second run removes nothing.
func TestRetention(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		root := t.TempDir()
		svc.Recordings = blob.Dir{Root: root}
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clock := now
		s.Now = func() time.Time { return clock }
		svc.Now = s.Now

		tenant := sqlstoretest.MustTenant(t, s)
		settings := callscope.SettingsOf(map[string]any{"retention": map[string]any{
			"recordings": "30d", "transcripts": "90d", "deliveries": "14d"}})
		_, err := s.UpdateTenant(ctx, tenant.ID, callscope.TenantUpdate{Settings: &settings})
		must(t, err)
		keeper := sqlstoretest.MustTenant(t, s) // no retention settings

		type made struct {
			c   *callscope.Call
			key string
		}
		mk := func(tn *callscope.Tenant, age time.Duration, held bool) made {
			t.Helper()
			clock = now.Add(-age)
			c := &callscope.Call{TenantID: tn.ID}
			must(t, svc.Create(ctx, c))
			_, err := svc.AppendSegments(ctx, tn.ID, c.ID, []callscope.Segment{{SegmentID: -1, Speaker: "caller", EndTime: 1, Text: "hello"}})
			must(t, err)
			key := tn.ID + "/" + c.ID + "/" + callscope.NewID() + ".wav"
			_, err = svc.Recordings.Put(ctx, key, strings.NewReader("RIFF"))
			must(t, err)
			must(t, svc.AttachRecording(ctx, c, &callscope.Recording{Format: "wav", StorageKey: key}))
			must(t, s.CreateDelivery(ctx, &callscope.Delivery{TenantID: tn.ID, CallID: c.ID, Channel: "webhook",
				Target: "https://example.com/hook", Status: callscope.DeliverySucceeded}))
			if held {
				_, err := svc.SetLegalHold(ctx, tn.ID, c.ID, "test", "case 7")
				must(t, err)
			}
			clock = now
			return made{c, key}
		}
		old := mk(tenant, 31*24*time.Hour, false)
		older := mk(tenant, 100*24*time.Hour, false)
		held := mk(tenant, 100*24*time.Hour, true)
		recent := mk(tenant, 29*24*time.Hour, false)
		fresh := mk(tenant, time.Hour, false)
		other := mk(keeper, 100*24*time.Hour, false)

		rep, err := svc.ApplyRetention(ctx, now)
		must(t, err)
		got := rep.Tenants[tenant.ID]
		want := map[string]int{"recordings": 2, "recording_objects": 2, "transcripts": 1, "segments": 1, "deliveries": 3}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("removed[%s] = %d, want %d (report %v)", k, got[k], v, got)
			}
		}
		if len(rep.Tenants) != 1 || len(rep.Errors) != 0 {
			t.Errorf("report = %+v, want only the tenant with settings and no errors", rep)
		}

		exists := func(key string) bool {
			o, err := svc.Recordings.Open(ctx, key)
			if err == nil {
				o.Close()
				return true
			}
			if callscope.ErrorCode(err) != callscope.ENOTFOUND {
				t.Fatal(err)
			}
			return false
		}
		for _, m := range []struct {
			name       string
			m          made
			recording  bool
			transcript bool
			deliveries int
		}{
			{"31 days", old, false, true, 0},
			{"100 days", older, false, false, 0},
			{"100 days, legal hold", held, true, true, 1},
			{"29 days", recent, true, true, 0},
			{"1 hour", fresh, true, true, 1},
			{"other tenant, 100 days", other, true, true, 1},
		} {
			recs, err := s.Recordings(ctx, m.m.c.ID)
			must(t, err)
			if (len(recs) == 1) != m.recording || exists(m.m.key) != m.recording {
				t.Errorf("%s: recording rows %d, object kept %t; want kept %t", m.name, len(recs), exists(m.m.key), m.recording)
			}
			segs, err := s.Segments(ctx, m.m.c.ID)
			must(t, err)
			if (len(segs) == 1) != m.transcript {
				t.Errorf("%s: %d segments, want transcript kept %t", m.name, len(segs), m.transcript)
			}
			if _, err := s.Call(ctx, m.m.c.TenantID, m.m.c.ID); err != nil {
				t.Errorf("%s: the call itself is gone: %v", m.name, err)
			}
			ds, err := s.Deliveries(ctx, m.m.c.TenantID, m.m.c.ID)
			must(t, err)
			if len(ds) != m.deliveries {
				t.Errorf("%s: %d deliveries, want %d", m.name, len(ds), m.deliveries)
			}
		}

		log, err := s.Deletions(ctx, tenant.ID, 10)
		must(t, err)
		if len(log) != 1 || log[0].Actor != "retention" || log[0].Removed["recordings"] != 2 {
			t.Errorf("audit log = %+v", log)
		}

		rep, err = svc.ApplyRetention(ctx, now)
		must(t, err)
		if len(rep.Tenants) != 0 {
			t.Errorf("second run removed %v, want nothing", rep.Tenants)
		}
	})
}

// TestRetentionJob runs retention as serve does, a periodic River job that
// runs at start: the job completes and keeps its report as its output.
func TestRetentionJob(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		svc.Recordings = blob.Dir{Root: t.TempDir()}
		tenant := sqlstoretest.MustTenant(t, s)
		settings := callscope.SettingsOf(map[string]any{"retention": map[string]any{"recordings": "1h"}})
		_, err := s.UpdateTenant(ctx, tenant.ID, callscope.TenantUpdate{Settings: &settings})
		must(t, err)
		c := &callscope.Call{TenantID: tenant.ID}
		must(t, svc.Create(ctx, c))
		key := tenant.ID + "/" + c.ID + "/old.wav"
		_, err = svc.Recordings.Put(ctx, key, strings.NewReader("RIFF"))
		must(t, err)
		s.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
		must(t, svc.AttachRecording(ctx, c, &callscope.Recording{Format: "wav", StorageKey: key}))
		s.Now = time.Now

		workers := river.NewWorkers()
		river.AddWorker(workers, &call.RetentionWorker{Calls: svc})
		q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond,
			Periodic: []*river.PeriodicJob{job.RetentionJob(time.Hour)}})
		must(t, err)
		must(t, q.Start(ctx))
		defer q.Stop(ctx)

		// SQLite keeps River's metadata as JSONB; json() reads it as text.
		query := `SELECT state, json(metadata) FROM river_job WHERE kind = 'retention.apply'`
		if s.Dialect() == sqlstore.Postgres {
			query = `SELECT state, CAST(metadata AS TEXT) FROM river_job WHERE kind = 'retention.apply'`
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			var state, meta string
			var err error
			if s.Dialect() == sqlstore.Postgres {
				err = s.Pool().QueryRow(ctx, query).Scan(&state, &meta)
			} else {
				err = s.SQLDB().QueryRowContext(ctx, query).Scan(&state, &meta)
			}
			if err == nil && state == "completed" {
				var m struct{ Output call.RetentionReport }
				must(t, json.Unmarshal([]byte(meta), &m))
				if got := m.Output.Tenants[tenant.ID]; got["recordings"] != 1 || got["recording_objects"] != 1 {
					t.Fatalf("job output = %s, want the tenant's removed recording", meta)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("retention job not completed: state %q, err %v", state, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		recs, err := s.Recordings(ctx, c.ID)
		must(t, err)
		if len(recs) != 0 {
			t.Fatalf("the job left %d recordings", len(recs))
		}
	})
}

// TestIdempotencyKeysExpire: an Idempotency-Key's answer is kept for
// IdempotencyKeyLifetime, then the retention run forgets it.
func TestIdempotencyKeysExpire(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		clock := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return clock }
		svc.Now = s.Now
		tenant := sqlstoretest.MustTenant(t, s)
		must(t, s.PutIdempotencyKey(ctx, tenant.ID, "u1", "schedule", "old", "h", []byte(`{"callId":"a"}`)))
		clock = clock.Add(20 * time.Hour)
		must(t, s.PutIdempotencyKey(ctx, tenant.ID, "u1", "schedule", "new", "h", []byte(`{"callId":"b"}`)))

		rep, err := svc.ApplyRetention(ctx, clock.Add(time.Hour)) // "old" is 21 h old
		must(t, err)
		if rep.IdempotencyKeys != 0 {
			t.Fatalf("forgot %d keys younger than a day", rep.IdempotencyKeys)
		}
		rep, err = svc.ApplyRetention(ctx, clock.Add(5*time.Hour)) // 25 h and 5 h
		must(t, err)
		if rep.IdempotencyKeys != 1 {
			t.Fatalf("forgot %d keys, want 1", rep.IdempotencyKeys)
		}
		if _, err := s.IdempotencyKey(ctx, tenant.ID, "u1", "schedule", "old"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("the old key: %v", err)
		}
		if _, err := s.IdempotencyKey(ctx, tenant.ID, "u1", "schedule", "new"); err != nil {
			t.Fatalf("the new key: %v", err)
		}
	})
}
