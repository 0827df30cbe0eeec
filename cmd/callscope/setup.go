package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/secret"
	"github.com/callscope/callscope/internal/sqlstore"
)

// loadConfig reads the configuration from the environment and file.
func loadConfig(file string) (*config.Config, error) {
	return config.Load(os.LookupEnv, file)
}

// newLogger builds the process logger: JSON unless stderr is a terminal
// (or as CALLSCOPE_LOG_FORMAT says).
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openStore opens the configured database, applies pending migrations
// (callscope's and the job queue's) and seals the stored secrets that are
// in the clear or sealed with an older key.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*sqlstore.Store, error) {
	keys, err := openKeyring(cfg, log)
	if err != nil {
		return nil, err
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, Secrets: keys})
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := job.Migrate(ctx, s); err != nil {
		s.Close()
		return nil, err
	}
	if err := resealSecrets(ctx, s, log); err != nil {
		s.Close()
		return nil, err
	}
	if s.Dialect() == sqlstore.SQLite {
		warnOpenModes(log, cfg.DataDir)
	}
	return s, nil
}

// resealSecrets seals, with the first configured key, the stored secrets
// that need it (see sqlstore.Store.ResealSecrets).
func resealSecrets(ctx context.Context, s *sqlstore.Store, log *slog.Logger) error {
	n, err := s.ResealSecrets(ctx)
	if err != nil {
		return fmt.Errorf("reseal stored secrets: %w", err)
	}
	if n > 0 {
		log.Info("stored secrets sealed with the current key", "count", n)
	}
	return nil
}

// isPostgres reports whether the configured database is PostgreSQL.
func isPostgres(cfg *config.Config) bool {
	return strings.HasPrefix(cfg.DatabaseURL, "postgres://") || strings.HasPrefix(cfg.DatabaseURL, "postgresql://")
}

// openKeyring returns the keys that seal stored secrets: those of
// CALLSCOPE_SECRET_KEY, or, with SQLite and none configured, the key in
// DATA_DIR/secret.key, generated on first start so that a deployment with
// no configuration works. Replicas sharing a PostgreSQL database must
// share a key, so there it must be configured. A key file left in the data
// directory after keys are configured still opens what it sealed (until the
// reseal at start has sealed everything again with the configured key).
func openKeyring(cfg *config.Config, log *slog.Logger) (*secret.Keyring, error) {
	path := filepath.Join(cfg.DataDir, secret.KeyFileName)
	if len(cfg.SecretKeys) > 0 {
		keys := cfg.SecretKeys
		if b, err := os.ReadFile(path); err == nil {
			k, err := secret.ParseKey(strings.TrimSpace(string(b)))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			known := false
			for _, c := range keys {
				known = known || bytes.Equal(c, k)
			}
			if !known {
				keys = append(append([][]byte{}, keys...), k)
				log.Info("the generated key file still opens the secrets it sealed; they are sealed again with CALLSCOPE_SECRET_KEY's first key, after which the file can be removed",
					"path", path, "key_id", secret.KeyID(k))
			}
		}
		return secret.New(keys...)
	}
	if isPostgres(cfg) {
		return nil, fmt.Errorf("CALLSCOPE_SECRET_KEY: required with PostgreSQL, where every replica must seal secrets with the same key; " +
			"generate one with `callscope secret-key generate` and give it to every replica (or CALLSCOPE_SECRET_KEY_FILE)")
	}
	if err := makePrivateDir(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("CALLSCOPE_DATA_DIR: %w", err)
	}
	k, created, err := secret.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("CALLSCOPE_SECRET_KEY is not set, and the key file in the data directory: %w", err)
	}
	if created {
		log.Warn("CALLSCOPE_SECRET_KEY is not set: generated a key sealing stored secrets; back it up with the database, or set CALLSCOPE_SECRET_KEY",
			"path", path, "key_id", secret.KeyID(k))
	}
	return secret.New(k)
}

// makePrivateDir creates dir (and missing parents) with mode 0700,
// whatever the umask; an existing directory is left as it is.
func makePrivateDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// warnOpenModes warns when the data directory or the files in it that
// hold the database and the key can be read by other users (data
// directories made by earlier versions were 0750).
func warnOpenModes(log *slog.Logger, dir string) {
	for _, p := range []string{dir, filepath.Join(dir, "callscope.db"), filepath.Join(dir, secret.KeyFileName)} {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if fi.Mode().Perm()&0o077 != 0 {
			log.Warn("readable by other users: calls and the key that opens stored secrets are there; chmod go-rwx it",
				"path", p, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
		}
	}
}
