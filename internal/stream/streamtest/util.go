package streamtest

import (
	"bytes"
	"log/slog"
	"math"
	"strings"
	"sync"
)

// Log collects log lines from concurrent goroutines.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Contains reports whether a logged line contains s.
func (l *Log) Contains(s string) bool { return strings.Contains(l.String(), s) }

// NewLogger returns a logger writing text lines to a new Log.
func NewLogger() (*slog.Logger, *Log) {
	l := &Log{}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

// Signal returns n samples of a tone sweeping through the speech band plus
// a little deterministic noise, so that every sample differs from its
// neighbours and a lost or reordered frame shows.
func Signal(n, rate int, seed uint32) []int16 {
	out := make([]int16, n)
	x := seed | 1
	phase := 0.0
	for i := range out {
		f := 300 + 2500*float64(i%rate)/float64(rate)
		phase += 2 * math.Pi * f / float64(rate)
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		out[i] = int16(8000*math.Sin(phase)) + int16(x%512) - 256
	}
	return out
}
