package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/callscope/callscope/internal/jsonx"
	"github.com/callscope/callscope/internal/secret"
)

// executor is the little the queries need from a connection, pool or
// transaction of either driver. Queries use $1-style placeholders, which
// both PostgreSQL and SQLite understand.
type executor interface {
	execRows(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args ...any) (rows, error)
	queryRow(ctx context.Context, query string, args ...any) row
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type row interface{ Scan(dest ...any) error }

// sqlTimeLayout stores SQLite timestamps as fixed-width UTC text, so that
// text comparison is time comparison; the driver parses it back into
// time.Time for TIMESTAMP columns.
const sqlTimeLayout = "2006-01-02 15:04:05.000000+00:00"

// sqliteArgs adapts arguments for SQLite: times as fixed-width text, JSON
// as text (never BLOB, so SQLite's JSON functions accept it).
func sqliteArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = v.UTC().Format(sqlTimeLayout)
		case *time.Time:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = v.UTC().Format(sqlTimeLayout)
			}
		case json.RawMessage:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = string(v)
			}
		}
	}
	return args
}

type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type sqlExec struct{ c sqlConn }

func (e sqlExec) execRows(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := e.c.ExecContext(ctx, q, sqliteArgs(args)...)
	if err != nil {
		return 0, translate(err)
	}
	return res.RowsAffected()
}

func (e sqlExec) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := e.c.QueryContext(ctx, q, sqliteArgs(args)...)
	if err != nil {
		return nil, translate(err)
	}
	return sqlRows{r}, nil
}

func (e sqlExec) queryRow(ctx context.Context, q string, args ...any) row {
	return errRow{e.c.QueryRowContext(ctx, q, sqliteArgs(args)...)}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type errRow struct{ r row }

func (r errRow) Scan(dest ...any) error { return translate(r.r.Scan(dest...)) }

type pgxConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type pgxExec struct{ c pgxConn }

// pgxArgs passes JSON as text so that PostgreSQL parses it into jsonb.
func pgxArgs(args []any) []any {
	for i, a := range args {
		if v, ok := a.(json.RawMessage); ok {
			if v == nil {
				args[i] = nil
			} else {
				args[i] = string(v)
			}
		}
	}
	return args
}

func (e pgxExec) execRows(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := e.c.Exec(ctx, q, pgxArgs(args)...)
	if err != nil {
		return 0, translate(err)
	}
	return tag.RowsAffected(), nil
}

func (e pgxExec) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := e.c.Query(ctx, q, pgxArgs(args)...)
	if err != nil {
		return nil, translate(err)
	}
	return r, nil
}

func (e pgxExec) queryRow(ctx context.Context, q string, args ...any) row {
	return errRow{e.c.QueryRow(ctx, q, pgxArgs(args)...)}
}

// router sends reads to the read pool and writes to the writer. On
// PostgreSQL both are the same pool.
type router struct{ s *Store }

func isRead(q string) bool {
	q = strings.TrimSpace(q)
	return len(q) >= 6 && (strings.EqualFold(q[:6], "SELECT") || strings.EqualFold(q[:4], "WITH"))
}

func (r *router) pick(q string) executor {
	if r.s.pool != nil {
		return pgxExec{r.s.pool}
	}
	if isRead(q) {
		return sqlExec{r.s.sqlReader}
	}
	return sqlExec{r.s.sqlWriter}
}

func (r *router) execRows(ctx context.Context, q string, args ...any) (int64, error) {
	if r.s.batch != nil && !isRead(q) {
		// A write on its own joins the next shared commit.
		var n int64
		err := r.s.batch.submit(ctx, func(tx *Tx) error {
			var err error
			n, err = tx.ex.execRows(ctx, q, args...)
			return err
		})
		return n, err
	}
	return r.pick(q).execRows(ctx, q, args...)
}

func (r *router) query(ctx context.Context, q string, args ...any) (rows, error) {
	return r.pick(q).query(ctx, q, args...)
}

func (r *router) queryRow(ctx context.Context, q string, args ...any) row {
	return r.pick(q).queryRow(ctx, q, args...)
}

// queries holds every store operation; Store runs them on the pools, Tx in
// its transaction.
type queries struct {
	ex  executor
	d   Dialect
	now func() time.Time
	// secrets caches the tenants found by results secret; shared by a
	// store and its transactions.
	secrets *secretCache
	// keys seal the secrets the store must read back (see sealed.go).
	keys *secret.Keyring
}

func (q *queries) exec(ctx context.Context, query string, args ...any) error {
	_, err := q.ex.execRows(ctx, query, args...)
	return err
}

// jsonArg encodes v as JSON text for a JSON column; nil stays NULL.
func jsonArg(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case json.RawMessage:
		if len(x) == 0 {
			return nil
		}
		return string(x)
	case map[string]json.RawMessage:
		b, err := jsonx.Object(x)
		if err != nil {
			panic("sqlstore: unencodable JSON value: " + err.Error())
		}
		return string(b)
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Values stored are built by this program from JSON-safe types.
		panic("sqlstore: unencodable JSON value: " + err.Error())
	}
	return string(b)
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(itoa(from + i))
	}
	return b.String()
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// decodeNumbers decodes a free-form JSON document keeping its numbers as
// written (json.Number), so that every number stored reads back the same,
// including integers beyond a float64's precision and values an older
// version stored without checking.
func decodeNumbers(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(dst)
}
