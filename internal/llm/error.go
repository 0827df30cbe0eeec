package llm

import (
	"fmt"
	"time"

	"github.com/callscope/callscope"
)

// Error is a failed model call. Retryable errors (rate limits, server
// errors, connection errors, timeouts) implement pipeline.RetryableError;
// everything else is permanent. Errors unwrap to a *callscope.Error so
// callscope.ErrorCode reports EUNAVAILABLE, ERATELIMIT or EINVALID.
type Error struct {
	// StatusCode is the HTTP status of the provider's answer, 0 when there
	// was none.
	StatusCode int
	// Code is the callscope error code the failure maps to.
	Code string
	// Message says what went wrong, without the transcript.
	Message string
	// Err is the underlying error, if any.
	Err error

	retryable  bool
	retryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := "llm: " + e.Message
	if e.StatusCode != 0 {
		s = fmt.Sprintf("llm: HTTP %d: %s", e.StatusCode, e.Message)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error and the domain error with the code.
func (e *Error) Unwrap() []error {
	errs := []error{&callscope.Error{Code: e.Code, Message: e.Message}}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Retryable reports whether the call is worth trying again later.
func (e *Error) Retryable() bool { return e.retryable }

// RetryAfter is how long the provider asked to wait, 0 without a hint.
func (e *Error) RetryAfter() time.Duration { return e.retryAfter }

func retryable(code string, status int, after time.Duration, err error, format string, args ...any) *Error {
	return &Error{StatusCode: status, Code: code, Message: fmt.Sprintf(format, args...), Err: err, retryable: true, retryAfter: after}
}

func permanent(code string, status int, err error, format string, args ...any) *Error {
	return &Error{StatusCode: status, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// errorf is an answer problem reported by a Check.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
