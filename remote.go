package callscope

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RemoteError is a failed request to another system: a model or
// transcription server, a recording source, a webhook receiver. Temporary
// ones (rate limits, server errors, connection errors, timeouts) are worth
// trying again, after Wait when the remote side said how long; the others
// are permanent. It unwraps to an *Error with its Code, so ErrorCode works,
// and to the underlying error.
type RemoteError struct {
	// Op names what failed, e.g. "llm", "stt", "fetch recording".
	Op string
	// StatusCode is the HTTP status of the answer, 0 when there was none.
	StatusCode int
	// Code is the domain error code the failure maps to.
	Code string
	// Message says what went wrong.
	Message string
	// Err is the underlying error, if any.
	Err error
	// Temporary says retrying later may succeed.
	Temporary bool
	// Wait is how long the remote side asked to wait, 0 without a hint.
	Wait time.Duration
}

// Error implements the error interface.
func (e *RemoteError) Error() string {
	s := e.Op + ": " + e.Message
	if e.StatusCode != 0 {
		s = fmt.Sprintf("%s: HTTP %d: %s", e.Op, e.StatusCode, e.Message)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the domain error with the code and the underlying error.
func (e *RemoteError) Unwrap() []error {
	errs := []error{&Error{Code: e.Code, Message: e.Message}}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Retryable reports whether trying again later may succeed.
func (e *RemoteError) Retryable() bool { return e.Temporary }

// RetryAfter is how long the remote side asked to wait, 0 without a hint.
func (e *RemoteError) RetryAfter() time.Duration { return e.Wait }

// ParseRetryAfter reads a Retry-After header: delay seconds or an
// HTTP-date. It returns 0 when the header is missing or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}
