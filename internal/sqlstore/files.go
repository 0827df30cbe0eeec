package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// The data directory and the SQLite files hold calls, transcripts and the
// sealed secrets: only callscope's user may read them. Modes are set
// explicitly, so that a permissive umask does not widen them.

// makePrivateDir creates dir and its missing parents; the directories it
// creates are 0700. An existing directory is left as it is.
func makePrivateDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// createPrivateFile creates an empty file at path with mode 0600 unless a
// file is there already. SQLite opens an empty file as a new database, and
// gives its -wal and -shm files the database file's mode.
func createPrivateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
