package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/callscope/callscope"
)

// Backup writes a consistent copy of the SQLite database to dest, a file
// that must not exist yet, while the database stays in use: SQLite's
// VACUUM INTO reads one snapshot (writers carry on; what they commit after
// the snapshot is not in the copy). Returns EINVALID on PostgreSQL, whose
// backups are pg_dump's.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if s.dialect != SQLite {
		return callscope.Errorf(callscope.EINVALID, "PostgreSQL databases are backed up with pg_dump")
	}
	if _, err := os.Lstat(dest); err == nil {
		return callscope.Errorf(callscope.ECONFLICT, "%s exists already; give a new file", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// A connection of its own (VACUUM INTO writes the new file, which the
	// query-only readers may not) reads one snapshot like any reader and
	// holds no write lock.
	db, err := openFile(ctx, s.path, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO $1`, dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	if err := os.Chmod(dest, 0o600); err != nil {
		return err
	}
	// No process works the copy's queue: the processes the copy names as
	// alive are marked gone, so that the jobs they held go back to the
	// queue at once when the copy is restored, and restore does not take
	// them for a running server.
	copyDB, err := openFile(ctx, dest, false)
	if err != nil {
		return err
	}
	defer copyDB.Close()
	var n int
	if err := copyDB.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'queue_clients'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	_, err = copyDB.ExecContext(ctx, `UPDATE queue_clients SET heartbeat_at = '1970-01-01 00:00:00.000'`)
	return err
}

// openFile opens an existing SQLite file read-only, without creating it.
func openFile(ctx context.Context, path string, readOnly bool) (*sql.DB, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file", path)
	}
	mode := "rw"
	if readOnly {
		mode = "ro"
	}
	db := openCachingDB("file:" + path + "?mode=" + mode + "&_pragma=busy_timeout(10000)")
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// CheckBackup opens a backup file read-only, checks its integrity and that
// it holds a callscope database, and returns how many calls it holds.
func CheckBackup(ctx context.Context, path string) (calls int, err error) {
	db, err := openFile(ctx, path, true)
	if err != nil {
		return 0, fmt.Errorf("open backup: %w", err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil {
		return 0, fmt.Errorf("%s is not a SQLite database: %w", path, err)
	}
	if ok != "ok" {
		return 0, fmt.Errorf("%s fails SQLite's integrity check: %s", path, ok)
	}
	var versions int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM callscope_migrations`).Scan(&versions); err != nil || versions == 0 {
		return 0, fmt.Errorf("%s is not a callscope database", path)
	}
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM calls`).Scan(&calls)
	return calls, err
}

// LiveQueueClients counts the processes (callscope serve) working the job
// queue of the SQLite database at path that showed they were alive within
// the last window; 0 when the file does not exist.
func LiveQueueClients(ctx context.Context, path string, window time.Duration) (int, error) {
	db, err := openFile(ctx, path, true)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM queue_clients WHERE heartbeat_at > strftime('%Y-%m-%d %H:%M:%f', 'now', $1)`,
		fmt.Sprintf("-%.0f seconds", window.Seconds())).Scan(&n)
	if err != nil {
		// A database older than the queue's heartbeats, or not
		// callscope's at all: nothing shows a server.
		return 0, nil
	}
	return n, nil
}

// RestoreSQLite puts the backup src in place of the SQLite database at
// dest: dest (with its -wal and -shm files) is kept as
// dest.before-restore-TIME, src is copied next to dest and renamed over it.
// It returns the name the old database was kept under ("" when there was
// none). The caller makes sure no server has dest open.
func RestoreSQLite(ctx context.Context, src, dest string, now time.Time) (kept string, err error) {
	if _, err := CheckBackup(ctx, src); err != nil {
		return "", err
	}
	if err := makePrivateDir(filepath.Dir(dest)); err != nil {
		return "", err
	}
	tmp := dest + ".restore-tmp"
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if _, err := os.Stat(dest); err == nil {
		// Checkpoint the old database so that the kept copy is one file.
		if db, err := openFile(ctx, dest, false); err == nil {
			_, _ = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
			db.Close()
		}
		kept = dest + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(dest, kept); err != nil {
			os.Remove(tmp)
			return "", err
		}
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if kept != "" {
			_ = os.Rename(dest+suffix, kept+suffix)
		}
		if err := os.Remove(dest + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return kept, err
		}
	}
	return kept, os.Rename(tmp, dest)
}

func copyFile(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
