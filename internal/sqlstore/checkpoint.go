package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// SQLite in WAL mode copies the log back into the database file at a
// checkpoint, and by default the connection whose commit crosses 1,000 log
// pages does it, fsyncs included, while every other writer waits. Here the
// writer never checkpoints: a checkpointer on its own connection does it in
// the background, PASSIVE so that it never blocks the writer, and the writer
// only nudges it after commits; a tick covers writes that do not.
//
// If the log outgrows walHardLimit anyway (readers holding old snapshots can
// stop a passive checkpoint from finishing), the checkpointer runs a RESTART
// checkpoint, which waits for the writer and readers and lets the log start
// over.

const (
	// walHardLimit is the log size from which the checkpointer waits for
	// the log to restart (about 256 MB at 4 KiB pages).
	walHardLimit = 64 << 10
	// checkpointEvery is the least time between two passive checkpoints.
	checkpointEvery = 50 * time.Millisecond
)

type checkpointer struct {
	db    *sql.DB
	nudge chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	log   *slog.Logger
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, nudge: make(chan struct{}, 1), stop: make(chan struct{}), log: slog.Default()}
	c.wg.Add(1)
	go c.run()
	return c
}

// poke tells the checkpointer the log has grown. It never blocks.
func (c *checkpointer) poke() {
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

func (c *checkpointer) close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-c.stop
		cancel()
	}()
	// Writes that bypass the committer (the queue's own) do not nudge; a
	// slow tick covers them.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-c.nudge:
		case <-tick.C:
		case <-c.stop:
			return
		}
		if err := c.checkpoint(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("sqlite checkpoint", "err", err)
		}
		select {
		case <-time.After(checkpointEvery):
		case <-c.stop:
			return
		}
	}
}

// checkpoint runs one passive checkpoint, and a restarting one if the log
// has grown past walHardLimit.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, logPages, done int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done); err != nil {
		return err
	}
	if logPages < walHardLimit || done == logPages {
		return nil
	}
	return c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &logPages, &done)
}
