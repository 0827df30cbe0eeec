package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/job"
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

// openStore opens the configured database and applies pending migrations
// (callscope's and the job queue's).
func openStore(ctx context.Context, cfg *config.Config) (*sqlstore.Store, error) {
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
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
	return s, nil
}
