package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// TestBackgroundCheckpoint checks that the log of an SQLite store is copied
// into the database file while the store runs, although the writer never
// checkpoints itself.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cs.db")
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var writerLimit int
	if err := s.SQLDB().QueryRow("PRAGMA wal_autocheckpoint").Scan(&writerLimit); err != nil {
		t.Fatal(err)
	}
	if writerLimit != 0 {
		t.Fatalf("writer checkpoints itself every %d pages", writerLimit)
	}
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := size()
	tn := &callscope.Tenant{Name: "cp"}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("words spoken on a call ", 40)
	for i := 0; i < 200; i++ {
		err := s.InTx(ctx, func(tx *sqlstore.Tx) error {
			c := &callscope.Call{TenantID: tn.ID, Title: text}
			return tx.CreateCall(ctx, c)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before+100_000 {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (was %d): the log was not checkpointed", size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
