package http_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCallResultsLoopback ingests realistic results payloads (six-turn
// transcript, recording, analyses, usage) over real HTTP on loopback from
// 32 and 128 keep-alive clients (Go's net/http client is the load
// generator), on
// SQLite with the queue working. Each answer comes after the call, its
// segments, recording, events and fan-out jobs are committed. It reports
// results ingested per second.
func BenchmarkCallResultsLoopback(b *testing.B) {
	for _, clients := range []int{32, 128} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchResults(b, clients) })
	}
}

func benchResults(b *testing.B, clients int) {
	e := newEnv(b, "sqlite")
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	work := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		work <- struct{}{}
	}
	close(work)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				body := strings.Replace(firstResults, "sess-7f3a91", fmt.Sprintf("bench-%d", next.Add(1)), -1)
				body = strings.Replace(body, `"stream_id": "MZ18ad3ab5a668481ce02b83e7395059f0",`, "", 1)
				req, _ := http.NewRequestWithContext(context.Background(), "POST", e.url+"/api/v1/call-results", bytes.NewReader([]byte(body)))
				req.Header.Set("X-CXBCore-Secret", resultsSecret)
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", res.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "results/s")
}
