package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFileName is the name of the key file generated in the data directory
// when no key is configured (embedded SQLite only).
const KeyFileName = "secret.key"

// LoadOrCreateKeyFile reads the key in path, or, when there is no such
// file, generates one and writes it there with mode 0600, reporting
// created. Two processes starting together end up with the same key: the
// file appears whole or not at all.
func LoadOrCreateKeyFile(path string) (k []byte, created bool, err error) {
	k, err = readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".secret-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	k = GenerateKey()
	_, err = tmp.WriteString(EncodeKey(k) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("write %s: %w", path, err)
	}
	// A hard link never replaces an existing file: if another process
	// wrote the key first, its key wins and is read back.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			k, err = readKeyFile(path)
			return k, false, err
		}
		return nil, false, fmt.Errorf("create %s: %w", path, err)
	}
	return k, true, nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
