package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
)

// SQLite has one writer at a time, and most of a small transaction's cost is
// writing its pages to the WAL at commit. The committer runs the
// transactions that queue up behind it together: each in a savepoint of one
// transaction, so one failing rolls back only its own changes, and one commit
// for all. Under load many calls then share pages and one commit; alone, a
// transaction runs as before.

// maxBatch bounds how many transactions share one commit.
const maxBatch = 64

type writeReq struct {
	fn   func(*Tx) error
	ctx  context.Context
	done chan error
}

type committer struct {
	s    *Store
	reqs chan *writeReq
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func newCommitter(s *Store) *committer {
	c := &committer{s: s, reqs: make(chan *writeReq), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

var errStoreClosed = errors.New("sqlstore: store is closed")

// submit runs fn in a batch and returns its outcome once the batch's commit
// is done (even if ctx ends meanwhile: the change may already be committed).
func (c *committer) submit(ctx context.Context, fn func(*Tx) error) error {
	r := &writeReq{fn: fn, ctx: ctx, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stop:
		return errStoreClosed
	}
	return <-r.done
}

func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

func (c *committer) run() {
	defer c.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-c.reqs:
		case <-c.stop:
			return
		}
		batch := []*writeReq{first}
		yielded := false
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				if yielded {
					break gather
				}
				// Let writers that are about to submit do so.
				runtime.Gosched()
				yielded = true
			}
		}
		c.commit(batch)
	}
}

// detachedKey marks the batch transaction's context: statements on it are
// not interrupted when a member's context ends, because an interrupted write
// would roll back the whole batch.
type detachedKey struct{}

func (c *committer) commit(batch []*writeReq) {
	results := make([]error, len(batch))
	finish := func(err error) {
		for i, r := range batch {
			if results[i] == nil {
				results[i] = err
			}
			r.done <- results[i]
		}
	}
	ctx := context.WithValue(context.Background(), detachedKey{}, true)
	stx, err := c.s.sqlWriter.BeginTx(ctx, nil)
	if err != nil {
		finish(translate(err))
		return
	}
	tx := &Tx{sqlTx: stx, queries: queries{ex: sqlExec{stx}, d: c.s.dialect, now: c.s.now, secrets: c.s.secrets, keys: c.s.keys}}
	single := len(batch) == 1
	var deferred []deferredItem
	var after []func()
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err // the caller gave up before its turn
			continue
		}
		tx.deferred, tx.afterCommit = nil, nil
		if single {
			results[i] = runFn(r.fn, tx)
			deferred, after = tx.deferred, tx.afterCommit
			break
		}
		if _, err := stx.ExecContext(ctx, "SAVEPOINT batch_member"); err != nil {
			_ = stx.Rollback()
			finish(translate(err))
			return
		}
		err := runFn(r.fn, tx)
		if err != nil {
			results[i] = err
			if _, rerr := stx.ExecContext(ctx, "ROLLBACK TO batch_member"); rerr != nil {
				_ = stx.Rollback()
				finish(translate(rerr))
				return
			}
		} else {
			deferred = append(deferred, tx.deferred...)
			after = append(after, tx.afterCommit...)
		}
		if _, err := stx.ExecContext(ctx, "RELEASE batch_member"); err != nil {
			_ = stx.Rollback()
			finish(translate(err))
			return
		}
	}
	if single && results[0] != nil {
		_ = stx.Rollback()
		finish(nil)
		return
	}
	if err := runFn(func(tx *Tx) error { return tx.flushDeferred(ctx, deferred) }, tx); err != nil {
		// The shared work failed: nothing of the batch may commit.
		_ = stx.Rollback()
		finish(err)
		return
	}
	if err := stx.Commit(); err != nil {
		_ = stx.Rollback()
		for i := range results {
			if results[i] == nil {
				results[i] = translate(err)
			}
		}
	} else {
		runAll(after)
	}
	c.s.checkpoint.poke()
	finish(nil)
}

// runFn runs one member, turning a panic into its error so that it cannot
// take the batch (or the writer goroutine) down.
func runFn(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in transaction: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(tx)
}
