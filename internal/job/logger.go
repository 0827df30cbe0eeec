package job

import (
	"context"
	"log/slog"
)

// quiet returns a logger that passes River's informational messages (a
// client starting, a leader elected, maintenance services running) on at
// debug level, so that an operator's INFO log holds callscope's own
// events; warnings and errors keep their level.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(demote{l.Handler()})
}

type demote struct{ h slog.Handler }

func (d demote) level(l slog.Level) slog.Level {
	if l < slog.LevelWarn && l > slog.LevelDebug {
		return slog.LevelDebug
	}
	return l
}

func (d demote) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, d.level(l)) }

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	r.Level = d.level(r.Level)
	return d.h.Handle(ctx, r)
}

func (d demote) WithAttrs(as []slog.Attr) slog.Handler { return demote{d.h.WithAttrs(as)} }
func (d demote) WithGroup(name string) slog.Handler    { return demote{d.h.WithGroup(name)} }
