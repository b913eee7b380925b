// Package errs defines the few error codes every SmartReg function speaks.
// A handler returns *Error (or wraps one); the HTTP layer maps the code to a
// status and tells the client only the Chinese message and the code, so
// internals never leak.
package errs

import (
	"errors"
	"fmt"
)

// Code is a stable machine-readable error class.
type Code string

const (
	Invalid      Code = "invalid"
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"
	Unauthorized Code = "unauthorized"
	Forbidden    Code = "forbidden"
	Unavailable  Code = "unavailable"
	Internal     Code = "internal"
)

// FieldError names one bad input field with a Chinese message.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Row     int    `json:"row,omitempty"` // 1-based data row in a bulk import, 0 when not applicable
}

// Error is the error type handlers return.
type Error struct {
	Code    Code
	Message string       // Chinese, safe to show a user
	Fields  []FieldError // for Invalid: which fields were wrong
	Err     error        // the cause, logged but never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors for stores and libraries; compare with errors.Is.
var (
	ErrNotFound = &Error{Code: NotFound, Message: "记录不存在"}
	ErrConflict = &Error{Code: Conflict, Message: "记录已存在或已被修改"}
)

// Is lets errors.Is match any *Error of the same code against a sentinel.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t == ErrNotFound || t == ErrConflict)
}

func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

func Wrap(code Code, msg string, err error) *Error { return &Error{Code: code, Message: msg, Err: err} }

// Fields builds an Invalid error from field errors; nil when there are none.
func Fields(fe []FieldError) error {
	if len(fe) == 0 {
		return nil
	}
	msg := fe[0].Message
	if len(fe) > 1 {
		msg = fmt.Sprintf("%s（共 %d 处错误）", fe[0].Message, len(fe))
	}
	return &Error{Code: Invalid, Message: msg, Fields: fe}
}

// CodeOf returns the code of err, Internal for anything not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As extracts the *Error from err, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
