// Package sqlstoretest opens real, isolated stores for tests: SQLite in a
// temporary directory and, when CALLSCOPE_TEST_DATABASE_URL names a
// PostgreSQL server, PostgreSQL in a schema of its own that is dropped after
// the test.
package sqlstoretest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/secret"
	"github.com/callscope/callscope/internal/sqlstore"
)

// EnvURL names the variable holding the PostgreSQL URL for tests.
const EnvURL = "CALLSCOPE_TEST_DATABASE_URL"

// Dialects returns the dialects tests can run on here: SQLite always,
// PostgreSQL when EnvURL is set.
func Dialects() []sqlstore.Dialect {
	ds := []sqlstore.Dialect{sqlstore.SQLite}
	if os.Getenv(EnvURL) != "" {
		ds = append(ds, sqlstore.Postgres)
	}
	return ds
}

// Keyring returns a keyring of one new random key, for sealing secrets.
func Keyring(tb testing.TB) *secret.Keyring {
	tb.Helper()
	k, err := secret.New(secret.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// Config returns a store configuration for an isolated database of the
// dialect, with a keyring of its own, and registers its removal with
// tb.Cleanup.
func Config(tb testing.TB, d sqlstore.Dialect) sqlstore.Config {
	tb.Helper()
	if d == sqlstore.SQLite {
		return sqlstore.Config{DataDir: tb.TempDir(), Secrets: Keyring(tb)}
	}
	url := os.Getenv(EnvURL)
	if url == "" {
		tb.Skipf("%s is not set; PostgreSQL tests skipped", EnvURL)
	}
	schema := "t_" + strings.ReplaceAll(callscope.NewID(), "-", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return sqlstore.Config{URL: url, Schema: schema, MaxConns: 10, Secrets: Keyring(tb)}
}

// Open returns a migrated store of the dialect, closed after the test.
func Open(tb testing.TB, d sqlstore.Dialect) *sqlstore.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, Config(tb, d))
	if err != nil {
		tb.Fatalf("open %s store: %v", d, err)
	}
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s store: %v", d, err)
	}
	return s
}

// MustTenant creates a tenant with a unique name.
func MustTenant(tb testing.TB, s *sqlstore.Store) *callscope.Tenant {
	tb.Helper()
	t := &callscope.Tenant{Name: fmt.Sprintf("tenant-%s", callscope.NewID())}
	if err := s.CreateTenant(context.Background(), t); err != nil {
		tb.Fatalf("create tenant: %v", err)
	}
	return t
}

// EachDialect runs fn as a subtest per available dialect with a fresh store.
func EachDialect(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}
