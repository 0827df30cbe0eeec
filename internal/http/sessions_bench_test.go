package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// benchSegments returns n segments of a call, alternating speakers, evenly
// spread over dur seconds, each a sentence of ordinary length.
func benchSegments(n int, dur float64) []callscope.Segment {
	segs := make([]callscope.Segment, n)
	step := dur / float64(n)
	for i := range segs {
		speaker := "caller"
		if i%2 == 1 {
			speaker = "agent"
		}
		segs[i] = callscope.Segment{SegmentID: i, Speaker: speaker, StartTime: float64(i) * step, EndTime: float64(i+1) * step,
			Text: fmt.Sprintf("Segment %d: my child has not come home from school since Tuesday, we live in Kibera.", i), Confidence: 0.9}
	}
	return segs
}

// measure serves GET path n times in-process and reports the latency
// percentiles.
func measure(b *testing.B, e *env, path string) {
	h := e.server.Handler()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+e.key)
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		lat = append(lat, time.Since(start))
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkActiveCalls measures GET /api/v1/calls/active on SQLite with
// 1,000 live sessions of three segments each (target: p99 under 10 ms).
func BenchmarkActiveCalls(b *testing.B) {
	e := newEnv(b, "sqlite")
	ctx := context.Background()
	now := time.Now()
	err := e.store.InTx(ctx, func(tx *sqlstore.Tx) error {
		for i := 0; i < 1000; i++ {
			c := &callscope.Call{TenantID: e.tenant.ID, From: "+254711000111", To: "116", StartedAt: &now, LastActivity: &now,
				AudioSeconds: 12, ConnectionInfo: json.RawMessage(`{"client_addr":["10.0.0.5",40412],"temp_connection_id":"10.0.0.5:40412:084335"}`),
				ExternalIDs: []callscope.ExternalID{{Kind: "pbx", Value: fmt.Sprintf("1761295415.%d", i)}}}
			if err := tx.CreateCall(ctx, c); err != nil {
				return err
			}
			if err := tx.PutSegments(ctx, c.ID, benchSegments(3, 12)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	measure(b, e, "/api/v1/calls/active")
}

// benchCall stores one call of an hour with 1,000 segments and its results.
func benchCall(b *testing.B, e *env) string {
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	end := time.Now()
	c := &callscope.Call{TenantID: e.tenant.ID, Status: callscope.CallCompleted, StartedAt: &start, EndedAt: &end, DurationSeconds: 3600,
		AudioSeconds: 3600, Language: "sw", Translation: "My child has not come home from school since Tuesday.",
		Entities:       json.RawMessage(`[{"type":"person","text":"Amina"},{"type":"location","text":"Kibera"}]`),
		Classification: json.RawMessage(`{"category":"child_protection","confidence":0.8}`),
		Summary:        json.RawMessage(`{"text":"Caller reports her child missing in Kibera."}`),
		ExternalIDs:    []callscope.ExternalID{{Kind: "pbx", Value: "1761295415.12887"}}}
	err := e.store.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateCall(ctx, c); err != nil {
			return err
		}
		return tx.PutSegments(ctx, c.ID, benchSegments(1000, 3600))
	})
	if err != nil {
		b.Fatal(err)
	}
	return c.PublicID()
}

// BenchmarkTranscript measures GET /api/v1/calls/{id}/transcript of a
// one-hour call with 1,000 segments on SQLite, with and without the
// segments (target: p99 under 10 ms).
func BenchmarkTranscript(b *testing.B) {
	e := newEnv(b, "sqlite")
	id := benchCall(b, e)
	b.Run("text", func(b *testing.B) { measure(b, e, "/api/v1/calls/"+id+"/transcript") })
	b.Run("segments", func(b *testing.B) { measure(b, e, "/api/v1/calls/"+id+"/transcript?include_segments=true") })
}

// BenchmarkExport measures GET /api/v1/calls/{id}/export of a call with
// 1,000 segments on SQLite in both formats (target: under 20 ms).
func BenchmarkExport(b *testing.B) {
	e := newEnv(b, "sqlite")
	id := benchCall(b, e)
	b.Run("json", func(b *testing.B) { measure(b, e, "/api/v1/calls/"+id+"/export?format=json") })
	b.Run("text", func(b *testing.B) { measure(b, e, "/api/v1/calls/"+id+"/export?format=text") })
}
