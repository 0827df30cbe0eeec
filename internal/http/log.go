package http

import (
	"log/slog"
	"time"
)

func slogStr(k, v string) slog.Attr     { return slog.String(k, v) }
func slogInt(k string, v int) slog.Attr { return slog.Int(k, v) }
func slogDur(k string, v time.Duration) slog.Attr {
	return slog.Float64(k+"_ms", float64(v.Microseconds())/1000)
}

// levelFor is the level of a request's log line: errors for server
// failures, except the 503 /health answers on purpose while draining.
func levelFor(status int, drainingHealth bool) slog.Level {
	if status >= 500 && !drainingHealth {
		return slog.LevelError
	}
	return slog.LevelInfo
}
