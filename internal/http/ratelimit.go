package http

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps a token bucket per client (API key, or IP without one) for
// reads and one for writes. Limits are per process: with several replicas
// each enforces its own share.
type limiter struct {
	perMinRead, perMinWrite int
	now                     func() time.Time

	mu      sync.Mutex
	clients map[string]*bucketPair
	swept   time.Time
}

type bucketPair struct {
	read, write *rate.Limiter
	seen        time.Time
}

func newLimiter(read, write int, now func() time.Time) *limiter {
	return &limiter{perMinRead: read, perMinWrite: write, now: now, clients: map[string]*bucketPair{}}
}

func bucket(perMin int) *rate.Limiter {
	if perMin <= 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Every(time.Minute/time.Duration(perMin)), perMin)
}

// allow takes a token for the client and reports how long to wait if there
// is none.
func (l *limiter) allow(client string, write bool) (bool, time.Duration) {
	if (write && l.perMinWrite <= 0) || (!write && l.perMinRead <= 0) {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	p, ok := l.clients[client]
	if !ok {
		p = &bucketPair{read: bucket(l.perMinRead), write: bucket(l.perMinWrite)}
		l.clients[client] = p
	}
	p.seen = now
	if now.Sub(l.swept) > time.Minute {
		// Forget clients idle long enough for their buckets to be full again.
		for k, c := range l.clients {
			if now.Sub(c.seen) > 2*time.Minute {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	l.mu.Unlock()
	b := p.read
	if write {
		b = p.write
	}
	if b.AllowN(now, 1) {
		return true, 0
	}
	r := b.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return false, wait
}

// retryAfter renders a wait as whole seconds, at least one.
func retryAfter(d time.Duration) int {
	return int(math.Max(1, math.Ceil(d.Seconds())))
}
