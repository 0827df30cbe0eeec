package callscope

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in internal/http; code
// outside the HTTP layer returns these and never picks a status itself.
const (
	ECONFLICT     = "conflict"     // the object's state does not allow the change
	EINTERNAL     = "internal"     // a bug or an unexpected failure
	EINVALID      = "invalid"      // the input is malformed or fails validation
	ENOTFOUND     = "not_found"    // no such object for this caller
	EUNAUTHORIZED = "unauthorized" // no or unknown credentials
	EFORBIDDEN    = "forbidden"    // credentials known but not allowed
	ETOOLARGE     = "too_large"    // the request body is over the limit
	ERATELIMIT    = "rate_limited" // too many requests; retry later
	EUNAVAILABLE  = "unavailable"  // a dependency or feature is off or down
	EBADREQUEST   = "bad_request"  // invalid input on a surface whose contract says 400
)

// FieldError names one invalid part of a request, in the shape of the
// Call Sessions API validation errors: {"loc": [...], "msg": ..., "type": ...}.
type FieldError struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// Error is the one error type of the domain. Code is machine readable,
// Message is safe to show to the caller, Fields lists per-field problems of
// a validation error.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("callscope error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ValidationError returns an EINVALID error listing the given field problems.
func ValidationError(fields ...FieldError) *Error {
	msg := "validation error"
	if len(fields) == 1 {
		msg = fields[0].Msg
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the *Error's message,
// or "Internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error"
}
