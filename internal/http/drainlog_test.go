package http_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/sqlstore"
)

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDrainingHealthNotAnError: while draining, /health answers 503 on
// purpose, and its log line is not an error.
func TestDrainingHealthNotAnError(t *testing.T) {
	var buf lockedBuffer
	e := newEnv(t, sqlstore.SQLite, func(s *cshttp.Server) {
		s.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	})
	levelOf := func(path string, status int) string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			for _, line := range strings.Split(buf.String(), "\n") {
				var rec struct {
					Level, Msg, Path string
					Status           int
				}
				if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request" && rec.Path == path && rec.Status == status {
					return rec.Level
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no request line for %s %d in:\n%s", path, status, buf.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wantStatus(t, e.do("GET", "/health", "", nil), 200)
	if l := levelOf("/health", 200); l != "INFO" {
		t.Fatalf("healthy /health logged at %s", l)
	}
	e.server.Drain()
	wantStatus(t, e.do("GET", "/health", "", nil), 503)
	if l := levelOf("/health", 503); l != "INFO" {
		t.Fatalf("draining /health logged at %s, want INFO", l)
	}
}
