package orchestrator

import (
	"errors"
	"fmt"
)

// Error codes. Each names what went wrong in domain terms; only the api package maps them
// to HTTP statuses (400, 404, 409, 412, 413, 503, 500).
const (
	EINVALID      = "invalid"             // the request breaks a schema or a domain rule
	ENOTFOUND     = "not_found"           // the named record does not exist (in the caller's tenant)
	ECONFLICT     = "conflict"            // the record exists already, or its state forbids the change
	EPRECONDITION = "precondition_failed" // a conditional write's If-Match does not hold: nothing written
	ETOOLARGE     = "too_large"           // the request exceeds a size limit
	EUNAVAILABLE  = "unavailable"         // the database cannot be reached
	EINTERNAL     = "internal"            // anything else: a bug or an unexpected store reply
)

// Error is a domain error: a code, a message fit for the caller and, optionally, a
// problem title (BOS uses specific titles such as "Invalid tenant") and the cause.
type Error struct {
	Code    string
	Title   string // optional RFC 7807 title; "" means the status text
	Message string
	Err     error // optional cause, for logs and errors.Is/As
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Code + ": " + e.Err.Error()
	}
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error and "" for nil.
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

// ErrorMessage returns the caller-facing message of err: the message of its *Error, or
// "Internal error" for errors without a code (their detail belongs in the log).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Message != "" {
			return e.Message
		}
		return e.Error()
	}
	return "Internal error"
}

// IsNotFound reports whether err carries ENOTFOUND.
func IsNotFound(err error) bool { return ErrorCode(err) == ENOTFOUND }
