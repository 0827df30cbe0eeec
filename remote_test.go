package callscope_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/callscope/callscope"
)

func TestRemoteError(t *testing.T) {
	cause := errors.New("connection reset")
	e := &callscope.RemoteError{Op: "llm", StatusCode: 503, Code: callscope.EUNAVAILABLE, Message: "server busy", Err: cause, Temporary: true, Wait: 7 * time.Second}
	if e.Error() != "llm: HTTP 503: server busy: connection reset" {
		t.Errorf("Error() = %q", e.Error())
	}
	if callscope.ErrorCode(e) != callscope.EUNAVAILABLE || !errors.Is(e, cause) || !e.Retryable() || e.RetryAfter() != 7*time.Second {
		t.Errorf("code %q, wraps %v, retryable %v, after %v", callscope.ErrorCode(e), errors.Is(e, cause), e.Retryable(), e.RetryAfter())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 10, 24, 8, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, " 12 ": 12 * time.Second, "-3": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := callscope.ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
