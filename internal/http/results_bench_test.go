package http_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/egress"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/job"
)

// BenchmarkCallResultsLoopback ingests realistic results payloads (six-turn
// transcript, recording, analyses, usage) over real HTTP on loopback from
// 32 and 128 keep-alive connections, on SQLite with the queue working as
// serve runs it. Each answer comes after the call, its segments, recording,
// events and fan-out jobs are committed. It reports results answered per
// second, and results per second counted until the fan-out (event
// dispatch, campaign reconciliation) has caught up.
//
// The load generator shares the two cores with the server. gen=raw writes
// prepared requests on raw TCP connections and reads the answers with
// net/http's response parser, one request in flight per connection, as
// wrk does; gen=nethttp is Go's net/http client, which spends about a
// tenth of the machine on itself.
func BenchmarkCallResultsLoopback(b *testing.B) {
	for _, gen := range []string{"raw", "nethttp"} {
		for _, clients := range []int{32, 128} {
			b.Run(fmt.Sprintf("gen=%s/clients=%d", gen, clients), func(b *testing.B) { benchResults(b, gen, clients) })
		}
	}
}

func benchResults(b *testing.B, gen string, clients int) {
	// As serve runs it: write-time URL checks remember their lookups.
	e := newEnv(b, "sqlite", func(s *cshttp.Server) { s.Egress.Lookups = egress.NewLookupCache(30 * time.Second) })
	bodies := make(chan []byte, b.N)
	for i := 0; i < b.N; i++ {
		body := strings.Replace(firstResults, "sess-7f3a91", fmt.Sprintf("bench-%d", i), -1)
		bodies <- []byte(strings.Replace(body, `"stream_id": "MZ18ad3ab5a668481ce02b83e7395059f0",`, "", 1))
	}
	close(bodies)
	post := netHTTPPoster(e, clients)
	if gen == "raw" {
		post = rawPoster(e)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := post(bodies); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	// The fan-out must keep up too: wait until every event of the results
	// has been dispatched and every job is done.
	ctx := context.Background()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		n, err := e.store.UndispatchedEvents(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		counts, err := job.JobCounts(ctx, e.store)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 && counts["available"]+counts["running"]+counts["retryable"]+counts["scheduled"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("fan-out still behind after 2 minutes: %d events, jobs %v", n, counts)
		}
	}
	drained := time.Since(start)
	b.StopTimer()
	calls, err := e.store.CountCalls(ctx, e.tenant.ID)
	if err != nil {
		b.Fatal(err)
	}
	if calls < b.N {
		b.Fatalf("%d results answered, %d calls stored", b.N, calls)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "results/s")
	b.ReportMetric(float64(b.N)/drained.Seconds(), "drained-results/s")
}

// netHTTPPoster posts bodies with Go's net/http client.
func netHTTPPoster(e *env, clients int) func(<-chan []byte) error {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return func(bodies <-chan []byte) error {
		for body := range bodies {
			req, _ := http.NewRequestWithContext(context.Background(), "POST", e.url+"/api/v1/call-results", bytes.NewReader(body))
			req.Header.Set("X-CXBCore-Secret", resultsSecret)
			if err := drain(client.Do(req)); err != nil {
				return err
			}
		}
		return nil
	}
}

// rawPoster posts bodies on one keep-alive TCP connection per caller,
// writing each request with one write.
func rawPoster(e *env) func(<-chan []byte) error {
	host := strings.TrimPrefix(e.url, "http://")
	return func(bodies <-chan []byte) error {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			return err
		}
		defer conn.Close()
		rd := bufio.NewReader(conn)
		var req []byte
		for body := range bodies {
			req = fmt.Appendf(req[:0], "POST /api/v1/call-results HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
				"X-CXBCore-Secret: %s\r\nContent-Length: %d\r\n\r\n", host, resultsSecret, len(body))
			req = append(req, body...)
			if _, err := conn.Write(req); err != nil {
				return err
			}
			if err := drain(http.ReadResponse(rd, nil)); err != nil {
				return err
			}
		}
		return nil
	}
}

// drain reads an answer to its end and checks it is a 200.
func drain(res *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}
