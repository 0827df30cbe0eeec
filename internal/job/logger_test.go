package job_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(s.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestRiverLogsBelowInfo: River's informational messages (client started,
// leader elected, …) reach the log at debug level, not info.
func TestRiverLogsBelowInfo(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	if err := job.Migrate(ctx, s); err != nil {
		t.Fatal(err)
	}
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	river := 0
	for _, l := range buf.lines() {
		msg, _ := l["msg"].(string)
		if !strings.Contains(strings.ToLower(msg), "client") && !strings.Contains(msg, "river") && !strings.Contains(msg, "Client") {
			continue
		}
		river++
		if l["level"] == "INFO" {
			t.Errorf("River logged at INFO: %v", l)
		}
	}
	if river == 0 {
		t.Fatalf("no River message at debug level; the test cannot see them:\n%v", buf.lines())
	}
}
