package llm

import (
	"fmt"
	"time"

	"github.com/callscope/callscope"
)

// Error is a failed model call: a callscope.RemoteError. Retryable errors
// (rate limits, server errors, connection errors, timeouts) implement
// pipeline.RetryableError; everything else is permanent. Errors unwrap to a
// *callscope.Error so callscope.ErrorCode reports EUNAVAILABLE, ERATELIMIT
// or EINVALID.
type Error = callscope.RemoteError

func retryable(code string, status int, after time.Duration, err error, format string, args ...any) *Error {
	return &Error{Op: "llm", StatusCode: status, Code: code, Message: fmt.Sprintf(format, args...), Err: err, Temporary: true, Wait: after}
}

func permanent(code string, status int, err error, format string, args ...any) *Error {
	return &Error{Op: "llm", StatusCode: status, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// errorf is an answer problem reported by a Check.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
