package http_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGetCall measures an authenticated GET /api/v1/calls/{id} served
// in-process (key check, tenant-scoped lookup by external id, segments,
// JSON) on SQLite, and reports the latency percentiles.
func BenchmarkGetCall(b *testing.B) {
	e := newEnv(b, "sqlite")
	r := e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "1761295415.12887", "from": "+254711000111", "to": "116"})
	if r.Status != 201 {
		b.Fatalf("create: %d %s", r.Status, r.Body)
	}
	h := e.server.Handler()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", "/api/v1/calls/1761295415.12887", nil)
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

func reportPercentiles(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

// BenchmarkCreateCall measures POST /api/v1/calls on SQLite with the queue
// working, from 32 concurrent clients: each call is stored with its external
// id, an event and the event's job in one transaction. It reports calls
// created per second.
func BenchmarkCreateCall(b *testing.B) {
	e := newEnv(b, "sqlite")
	h := e.server.Handler()
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := n.Add(1)
			req := httptest.NewRequest("POST", "/api/v1/calls", strings.NewReader(fmt.Sprintf(`{"call_id":"bench-%d","from":"+254711000111","to":"116"}`, id)))
			req.Header.Set("Authorization", "Bearer "+e.key)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "calls/s")
}
