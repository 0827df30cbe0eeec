// Package blob stores recordings: a small interface, with a local-directory
// implementation (the embedded default).
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// Object is a stored blob opened for reading.
type Object interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// Store keeps blobs by key (slash-separated, no "..").
type Store interface {
	// Put stores r under key and returns its size. A failed Put leaves no
	// partial object behind.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the object under key. Returns ENOTFOUND if there is none.
	Open(ctx context.Context, key string) (Object, error)
	// Delete removes key; removing a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Dir stores blobs as files under a directory.
type Dir struct{ Root string }

var _ Store = Dir{}

// ValidKey reports whether key is a relative slash path without "." or ".."
// elements.
func ValidKey(key string) bool {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return false
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

func (d Dir) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", callscope.Errorf(callscope.EINVALID, "invalid storage key %q", key)
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put implements Store: it writes to a temporary file and renames it into
// place, so readers never see half an object.
func (d Dir) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, err
	}
	f, err := d.createTemp(filepath.Dir(p))
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, err
	}
	return n, nil
}

// createTemp creates a temporary file in dir, creating dir first; a Delete
// that removes dir as it empties is retried once.
func (d Dir) createTemp(dir string) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		f, err := os.CreateTemp(dir, ".upload-*")
		if err == nil || attempt > 0 || !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
	}
}

type file struct {
	*os.File
	info fs.FileInfo
}

func (f file) Size() int64        { return f.info.Size() }
func (f file) ModTime() time.Time { return f.info.ModTime() }

// Open implements Store.
func (d Dir) Open(ctx context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "recording file not found")
	} else if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return file{f, info}, nil
}

// Delete implements Store.
func (d Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	// Directories left empty go too (a call's directory names the call);
	// removing a directory that is not empty fails and stops the climb.
	root := filepath.Clean(d.Root)
	for dir := filepath.Dir(p); dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
