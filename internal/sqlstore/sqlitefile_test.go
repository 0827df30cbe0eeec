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
	s := openSQLiteFile(t, path)
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

// openSQLiteFile opens and migrates a store on the SQLite file at path,
// closed when the test ends; several may share one file.
func openSQLiteFile(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSecretCacheAcrossProcesses checks that a results secret rotated by
// another process stops working here once the cache's second is over, and
// at once when rotated here.
func TestSecretCacheAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cs.db")
	a, b := openSQLiteFile(t, path), openSQLiteFile(t, path)
	now := time.Now()
	a.Now = func() time.Time { return now }
	tn := &callscope.Tenant{Name: "t", ResultsSecret: "first-secret-0123456789"}
	if err := a.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TenantByResultsSecret(ctx, "first-secret-0123456789"); err != nil {
		t.Fatal(err)
	}
	rotated := "second-secret-0123456789"
	if _, err := b.UpdateTenant(ctx, tn.ID, callscope.TenantUpdate{ResultsSecret: &rotated}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TenantByResultsSecret(ctx, "first-secret-0123456789"); err != nil {
		t.Fatalf("within the second: %v", err)
	}
	now = now.Add(1500 * time.Millisecond)
	if _, err := a.TenantByResultsSecret(ctx, "first-secret-0123456789"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
		t.Fatalf("old secret after the cache's second: %v", err)
	}
	if got, err := a.TenantByResultsSecret(ctx, rotated); err != nil || got.ID != tn.ID {
		t.Fatalf("new secret: %v", err)
	}
	third := "third-secret-0123456789"
	if _, err := a.UpdateTenant(ctx, tn.ID, callscope.TenantUpdate{ResultsSecret: &third}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TenantByResultsSecret(ctx, rotated); callscope.ErrorCode(err) != callscope.ENOTFOUND {
		t.Fatalf("secret rotated here still works: %v", err)
	}
}
