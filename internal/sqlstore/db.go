// Package sqlstore keeps the call record in SQLite (embedded, pure Go) or
// PostgreSQL (multi-instance). Both dialects run the same queries through a
// small executor interface; the few places where SQL differs are named in
// the dialect type. The River job tables live in the same database so jobs
// are inserted in the same transaction as the change that causes them.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/secret"
)

//go:embed migrations
var migrationsFS embed.FS

// Dialect names a supported database engine.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// (or postgresql://) URL, a sqlite path
	// ("sqlite:/path/db", "file:/path/db"), or "" for DataDir/callscope.db.
	URL string
	// DataDir holds the SQLite database when URL is "".
	DataDir string
	// Schema, for PostgreSQL, is set as the connections' search_path so
	// that every table (River's too) lives in it. Tests use one per test.
	Schema string
	// MaxConns bounds the PostgreSQL pool (0: pgx default).
	MaxConns int32
	// Secrets seal the secrets the store must read back, such as webhook
	// signing secrets. Without it, storing one fails and reading a sealed
	// one is an error naming CALLSCOPE_SECRET_KEY.
	Secrets *secret.Keyring
}

// Store is the call record's storage. It is safe for concurrent use.
type Store struct {
	queries
	dialect Dialect

	// SQLite: one writer connection (SQLite allows one writer at a time;
	// River shares it) and a pool of read-only connections.
	sqlWriter *sql.DB
	sqlReader *sql.DB
	path      string

	// The writer does not checkpoint the log; this does, on its own
	// connection.
	sqlCheckpoint *sql.DB
	checkpoint    *checkpointer

	// batch groups SQLite write transactions into shared commits.
	batch *committer

	// PostgreSQL: one pool for everything.
	pool *pgxpool.Pool

	// Now is the clock; tests replace it.
	Now func() time.Time
}

// Open opens (creating when needed) the database described by cfg. It does
// not apply migrations; call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{Now: time.Now}
	u := cfg.URL
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if err := s.openPostgres(ctx, u, cfg); err != nil {
			return nil, err
		}
	default:
		path, err := SQLitePath(cfg)
		if err != nil {
			return nil, err
		}
		if path == filepath.Join(cfg.DataDir, "callscope.db") {
			if err := makePrivateDir(cfg.DataDir); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
		}
		if err := s.openSQLite(ctx, path); err != nil {
			return nil, err
		}
	}
	s.queries = queries{ex: &router{s: s}, d: s.dialect, now: s.now, secrets: &secretCache{}, keys: cfg.Secrets}
	return s, nil
}

// SQLitePath returns the file of the SQLite database cfg names: its
// sqlite:/file: URL, or DataDir/callscope.db. Returns EINVALID for a
// PostgreSQL URL or when neither is given.
func SQLitePath(cfg Config) (string, error) {
	u := cfg.URL
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		return "", callscope.Errorf(callscope.EINVALID, "the database is PostgreSQL, not a SQLite file")
	}
	path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "file:")
	if path == "" {
		if cfg.DataDir == "" {
			return "", callscope.Errorf(callscope.EINVALID, "no database URL and no data directory")
		}
		path = filepath.Join(cfg.DataDir, "callscope.db")
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path, nil
}

func (s *Store) now() time.Time { return callscope.Timestamp(s.Now()) }

func (s *Store) openSQLite(ctx context.Context, path string) error {
	s.dialect = SQLite
	s.path = path
	if dir := filepath.Dir(path); dir != "" {
		if err := makePrivateDir(dir); err != nil {
			return fmt.Errorf("create database directory: %w", err)
		}
	}
	if err := createPrivateFile(path); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)"
	w := openCachingDB("file:" + path + "?" + common + "&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r := openCachingDB("file:" + path + "?" + common + "&_pragma=query_only(1)")
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	cp := openCachingDB("file:" + path + "?" + common)
	cp.SetMaxOpenConns(1)
	s.sqlWriter, s.sqlReader, s.sqlCheckpoint = w, r, cp
	s.checkpoint = newCheckpointer(cp)
	s.batch = newCommitter(s)
	return nil
}

func (s *Store) openPostgres(ctx context.Context, u string, cfg Config) error {
	s.dialect = Postgres
	pc, err := pgxpool.ParseConfig(u)
	if err != nil {
		return callscope.Errorf(callscope.EINVALID, "database URL: %v", err)
	}
	if cfg.Schema != "" {
		pc.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("connect to postgres: %w", err)
	}
	s.pool = pool
	return nil
}

// Dialect reports which database engine the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// SQLDB returns the SQLite writer pool (nil on PostgreSQL). River's SQLite
// driver runs on it.
func (s *Store) SQLDB() *sql.DB { return s.sqlWriter }

// Pool returns the PostgreSQL pool (nil on SQLite).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.pool != nil {
		return s.pool.Ping(ctx)
	}
	return s.sqlReader.PingContext(ctx)
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	if s.pool != nil {
		s.pool.Close()
		return nil
	}
	var errs []error
	if s.batch != nil {
		s.batch.close()
	}
	if s.checkpoint != nil {
		s.checkpoint.close()
		errs = append(errs, s.sqlCheckpoint.Close())
	}
	if s.sqlReader != nil {
		errs = append(errs, s.sqlReader.Close())
	}
	if s.sqlWriter != nil {
		if _, err := s.sqlWriter.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil && !strings.Contains(err.Error(), "closed") {
			errs = append(errs, err)
		}
		errs = append(errs, s.sqlWriter.Close())
	}
	return errors.Join(errs...)
}

// Tx is a database transaction. Its methods are the store's, run inside it.
type Tx struct {
	queries
	sqlTx *sql.Tx
	pgTx  pgx.Tx
	// deferred holds the work the current transaction function registered
	// with Defer; afterCommit what it registered with AfterCommit.
	deferred    []deferredItem
	afterCommit []func()
}

// AfterCommit registers fn to run once the transaction has committed (not
// at all if it does not). fn must be quick and must not use the
// transaction.
func (tx *Tx) AfterCommit(fn func()) {
	tx.afterCommit = append(tx.afterCommit, fn)
}

func runAll(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}

// FlushFunc does, in the transaction and just before its commit, the work
// registered with Defer under one key, all of it at once.
type FlushFunc func(ctx context.Context, tx *Tx, items []any) error

type deferredItem struct {
	key   any
	item  any
	flush FlushFunc
}

// Defer registers item to be handed to flush, with every other item
// registered under the same key, once the transaction's work is done and
// before it commits. Where transactions share a commit, items of one that
// fails are dropped with its changes, and one flush serves them all: this is
// how many small inserts of the same kind become one statement.
func (tx *Tx) Defer(key any, item any, flush FlushFunc) {
	tx.deferred = append(tx.deferred, deferredItem{key, item, flush})
}

// flushDeferred runs the flushes of items, grouped by key in first-seen order.
func (tx *Tx) flushDeferred(ctx context.Context, items []deferredItem) error {
	var keys []any
	groups := map[any][]any{}
	flushes := map[any]FlushFunc{}
	for _, d := range items {
		if _, ok := groups[d.key]; !ok {
			keys = append(keys, d.key)
			flushes[d.key] = d.flush
		}
		groups[d.key] = append(groups[d.key], d.item)
	}
	for _, k := range keys {
		if err := flushes[k](ctx, tx, groups[k]); err != nil {
			return err
		}
	}
	return nil
}

// SQLTx returns the underlying database/sql transaction on SQLite.
func (tx *Tx) SQLTx() *sql.Tx { return tx.sqlTx }

// PgxTx returns the underlying pgx transaction on PostgreSQL.
func (tx *Tx) PgxTx() pgx.Tx { return tx.pgTx }

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise. On SQLite, transactions that queue up behind one another
// share a commit (see batch.go); fn must not use the Store itself (only tx),
// and a panic in fn is returned as its error.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.pool == nil {
		return s.batch.submit(ctx, fn)
	}
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	tx := &Tx{pgTx: ptx, queries: queries{ex: pgxExec{ptx}, d: s.dialect, now: s.now, secrets: s.secrets, keys: s.keys}}
	rollback := func() { _ = ptx.Rollback(context.WithoutCancel(ctx)) }
	if err := runFn(fn, tx); err != nil {
		rollback()
		return err
	}
	if err := tx.flushDeferred(ctx, tx.deferred); err != nil {
		rollback()
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		rollback()
		return translate(err)
	}
	runAll(tx.afterCommit)
	return nil
}

// Migrate applies the pending migrations of this store's dialect, each in
// its own transaction, and returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	files, err := migrationFiles(s.dialect)
	if err != nil {
		return nil, err
	}
	if err := s.exec(ctx, `CREATE TABLE IF NOT EXISTS callscope_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create migrations table: %w", err)
	}
	var applied []int
	for _, m := range files {
		done := false
		err := s.InTx(ctx, func(tx *Tx) error {
			if s.dialect == Postgres {
				// Replicas starting together take turns.
				if err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(7146012393)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.ex.queryRow(ctx, `SELECT count(*) FROM callscope_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				done = true
				return nil
			}
			for _, stmt := range splitStatements(m.sql) {
				if err := tx.exec(ctx, stmt); err != nil {
					return fmt.Errorf("migration %s: %w", m.name, err)
				}
			}
			return tx.exec(ctx, `INSERT INTO callscope_migrations (version, applied_at) VALUES ($1, $2)`, m.version, s.now())
		})
		if err != nil {
			return applied, err
		}
		if !done {
			applied = append(applied, m.version)
		}
	}
	if err := s.digestResultsSecrets(ctx); err != nil {
		return applied, fmt.Errorf("digest results secrets: %w", err)
	}
	return applied, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrationFiles(d Dialect) ([]migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNN_name.sql", name)
		}
		b, err := migrationsFS.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// splitStatements splits a migration on semicolons at line ends. Migrations
// contain no procedural code, so this is enough.
func splitStatements(src string) []string {
	var out []string
	for _, part := range strings.Split(src, ";\n") {
		if p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), ";")); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// translate turns driver errors into domain errors at the storage boundary.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return callscope.Errorf(callscope.ENOTFOUND, "not found")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return callscope.Errorf(callscope.ECONFLICT, "already exists")
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return callscope.Errorf(callscope.ECONFLICT, "already exists")
		}
	}
	return err
}

// redactURL hides the password of a database URL for messages.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// Describe says which database the store uses, without secrets.
func (s *Store) Describe() string {
	if s.pool != nil {
		return "postgres " + redactURL(s.pool.Config().ConnString())
	}
	return "sqlite " + s.path
}
