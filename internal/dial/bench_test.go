package dial_test

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// BenchmarkPlaceSameMinute schedules CALLSCOPE_BENCH_CALLS calls (default
// 2,000) due at the same moment, for a tenant with 100 lines, with the
// simulator answering each busy after a second of ringing, and reports how
// long after their time all were placed (s-all) and the 50th and 99th
// percentile of how late each was placed.
func BenchmarkPlaceSameMinute(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("CALLSCOPE_BENCH_CALLS")); err == nil && v > 0 {
		n = v
	}
	for _, d := range sqlstoretest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				benchPlace(b, d, n)
			}
		})
	}
}

func benchPlace(b *testing.B, d sqlstore.Dialect, n int) {
	b.StopTimer()
	s := sqlstoretest.Open(b, d)
	h := newHarness(b, s, true)
	set := callscope.SettingsOf(map[string]any{"autocaller": map[string]any{"max_concurrent_calls": 100}})
	if _, err := s.UpdateTenant(ctx, h.tenant.ID, callscope.TenantUpdate{Settings: &set}); err != nil {
		b.Fatal(err)
	}
	due := time.Now().Add(time.Duration(n/200+10) * time.Second).Truncate(time.Second)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := &callscope.Call{TenantID: h.tenant.ID, UserID: "u", To: "+14155550101", ContactName: "C", Title: "t", ScheduledAt: &due}
				o := &callscope.OutboundCall{TenantID: h.tenant.ID, DurationMinutes: 15, Provider: simulate("busy", 1, 0)}
				if _, _, err := h.calls.Schedule(ctx, c, o, call.Idempotency{}); err != nil {
					b.Error(i, err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if time.Now().After(due) {
		b.Fatalf("scheduling %d calls took past their time", n)
	}
	b.StartTimer()
	deadline := due.Add(10 * time.Minute)
	for {
		list, total, err := s.OutboundCalls(ctx, callscope.OutboundQuery{TenantID: h.tenant.ID, UserID: "u",
			Statuses: []callscope.CallStatus{callscope.CallScheduled}, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		_ = list
		if total == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d calls not placed 10 minutes after their time", total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	var late []float64
	for off := 0; off < n; off += 500 {
		list, _, err := s.OutboundCalls(ctx, callscope.OutboundQuery{TenantID: h.tenant.ID, UserID: "u", Limit: 500, Offset: off, Ascending: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range list {
			if o.PlacedAt == nil {
				b.Fatalf("call %s not placed", o.CallID)
			}
			if o.PlacedAt.Before(due) {
				b.Fatalf("call %s placed %s early", o.CallID, due.Sub(*o.PlacedAt))
			}
			late = append(late, o.PlacedAt.Sub(due).Seconds())
		}
	}
	sort.Float64s(late)
	b.ReportMetric(late[len(late)-1], "s-all")
	b.ReportMetric(late[len(late)/2], "p50-late-s")
	b.ReportMetric(late[len(late)*99/100], "p99-late-s")
	fmt.Printf("place same minute %s: %d calls, 100 lines: all placed %.1f s after their time\n", d, n, late[len(late)-1])
}
