package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// TestSecretCacheAcrossProcesses checks that a results secret rotated by
// another process stops working here once the cache's second is over, and
// at once when rotated here.
func TestSecretCacheAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cs.db")
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
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
	if _, err := b.UpdateTenant(ctx, tn.ID, sqlstore.TenantUpdate{ResultsSecret: &rotated}); err != nil {
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
	if _, err := a.UpdateTenant(ctx, tn.ID, sqlstore.TenantUpdate{ResultsSecret: &third}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TenantByResultsSecret(ctx, rotated); callscope.ErrorCode(err) != callscope.ENOTFOUND {
		t.Fatalf("secret rotated here still works: %v", err)
	}
}
