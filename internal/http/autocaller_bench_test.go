package http_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// benchOutboundCalls is how many Auto-Caller calls the status and list
// benchmarks store: 100 users with 1,000 calls each.
const benchOutboundCalls = 100_000

// seedOutbound stores n outbound calls of users u0…u99 in e's tenant,
// directly (scheduling through the API would place them), and returns one
// callId of user u7.
func seedOutbound(b *testing.B, e *env, n int) string {
	b.Helper()
	ctx := context.Background()
	base := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	var ref string
	for start := 0; start < n; start += 1000 {
		err := e.store.InTx(ctx, func(tx *sqlstore.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				at := base.Add(time.Duration(i) * time.Second)
				c := &callscope.Call{TenantID: e.tenant.ID, UserID: fmt.Sprintf("u%d", i%100), Direction: callscope.Outbound,
					To: "+14155550101", Title: "bench", ContactName: "C", Status: callscope.CallStatuses[i%len(callscope.CallStatuses)],
					ScheduledAt: &at, ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtAutocallerID, Value: fmt.Sprintf("call_bench_%d", i)}}}
				if err := tx.CreateCall(ctx, c); err != nil {
					return err
				}
				if err := tx.CreateOutboundCall(ctx, &callscope.OutboundCall{CallID: c.ID, TenantID: c.TenantID, DurationMinutes: 15}); err != nil {
					return err
				}
				if i == n/2+7 {
					ref = c.PublicID()
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ref
}

// BenchmarkAutocallerStatusList measures, with 100,000 Auto-Caller calls
// stored, GET …/calls/{id}/status and GET …/calls (a user's page of 50,
// filtered by status and sorted by scheduledTime), served in-process, and
// reports their latency percentiles.
func BenchmarkAutocallerStatusList(b *testing.B) {
	for _, d := range sqlstoretest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			e := newEnv(b, d)
			ref := seedOutbound(b, e, benchOutboundCalls)
			h := e.server.Handler()
			for _, c := range []struct{ name, path string }{
				{"status", "/autocaller/calls/" + ref + "/status?userId=u7"},
				{"list", "/autocaller/calls?userId=u7&status=failed&sortBy=scheduledTime&order=desc&limit=50&offset=100"},
			} {
				b.Run(c.name, func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					for i := 0; i < b.N; i++ {
						req := httptest.NewRequest("GET", c.path, nil)
						req.Header.Set("Authorization", "Bearer "+e.key)
						w := httptest.NewRecorder()
						start := time.Now()
						h.ServeHTTP(w, req)
						lat = append(lat, time.Since(start))
						if w.Code != 200 {
							b.Fatalf("status %d: %s", w.Code, w.Body)
						}
					}
					reportPercentiles(b, lat)
				})
			}
		})
	}
}
