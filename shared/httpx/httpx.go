// Package httpx holds the JSON edge every function shares: decoding with
// limits, encoding, and the one place error codes become HTTP statuses.
package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/errs"
)

// MaxBody bounds a JSON request body; bulk uploads use their own limit.
const MaxBody = 1 << 20

// Validator is implemented by request structs: Validate returns an
// errs.Invalid naming the bad fields, or nil.
type Validator interface{ Validate() error }

// Decode reads a JSON body into v, rejecting unknown fields, trailing data
// and oversized bodies, then validates v when it can.
func Decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errs.Wrap(errs.Invalid, "请求内容过大", err)
		}
		return errs.Wrap(errs.Invalid, "请求内容读取失败", err)
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD and store it
	// silently; a NUL escape would reach PostgreSQL, which refuses it.
	if !utf8.Valid(body) || hasNULEscape(body) {
		return errs.New(errs.Invalid, MsgBadText)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("字段 %s 的类型不正确", typeErr.Field), Err: err,
				Fields: []errs.FieldError{{Field: typeErr.Field, Message: "类型不正确"}}}
		case errors.Is(err, io.EOF):
			return errs.New(errs.Invalid, "请求内容为空")
		default:
			return errs.Wrap(errs.Invalid, "请求内容不是有效的 JSON", err)
		}
	}
	if dec.More() {
		return errs.New(errs.Invalid, "请求内容包含多余数据")
	}
	if val, ok := v.(Validator); ok {
		return val.Validate()
	}
	return nil
}

// JSON writes v with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Status maps an error code to its HTTP status.
func Status(c errs.Code) int {
	switch c {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error struct {
		Code    errs.Code         `json:"code"`
		Message string            `json:"message"`
		Fields  []errs.FieldError `json:"fields,omitempty"`
	} `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// Error answers err: the client sees the code and a Chinese message; an
// internal error's detail goes only to the log, once, here.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	ErrorStatus(w, r, log, err, 0)
}

// ErrorStatus is Error with the HTTP status given (0: the code's).
func ErrorStatus(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, status int) {
	var body ErrorBody
	body.RequestID = RequestID(r.Context())
	e := errs.As(err)
	if e == nil {
		e = &errs.Error{Code: errs.Internal, Message: "系统内部错误，请稍后重试", Err: err}
	}
	if e.Code == errs.Internal || e.Code == errs.Unavailable {
		log.ErrorContext(r.Context(), "request failed", "code", e.Code, "err", err, "method", r.Method, "path", r.URL.Path)
	}
	body.Error.Code, body.Error.Message, body.Error.Fields = e.Code, e.Message, e.Fields
	if status == 0 {
		status = Status(e.Code)
	}
	JSON(w, status, body)
}

// Page is the common pagination of list endpoints: page is 1-based.
type Page struct {
	Page, Size int
}

// Offset is the row offset of the page.
func (p Page) Offset() int { return (p.Page - 1) * p.Size }

// ParsePage reads page and page_size, defaulting to 1 and 20, at most 200.
func ParsePage(r *http.Request) (Page, error) {
	p := Page{Page: 1, Size: 20}
	var fe []errs.FieldError
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			fe = append(fe, errs.FieldError{Field: "page", Message: "页码应为 1 至 100000 的整数"})
		}
		p.Page = n
	}
	if s := r.URL.Query().Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			fe = append(fe, errs.FieldError{Field: "page_size", Message: "每页条数应为 1 至 200 的整数"})
		}
		p.Size = n
	}
	return p, errs.Fields(fe)
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	eventIDKey
)

// WithRequestID and RequestID carry the request id for logs and answers.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// WithEventID and EventID carry the CloudEvent id being handled.
func WithEventID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, eventIDKey, id)
}

func EventID(ctx context.Context) string {
	s, _ := ctx.Value(eventIDKey).(string)
	return s
}

// hasNULEscape reports a \u0000 escape in a JSON text.
func hasNULEscape(b []byte) bool {
	for i := bytes.Index(b, []byte(`\u`)); i >= 0; {
		if i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			// An escaped backslash before it ("\\u0000") is text, not NUL.
			n := 0
			for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
				n++
			}
			if n%2 == 0 {
				return true
			}
		}
		next := bytes.Index(b[i+2:], []byte(`\u`))
		if next < 0 {
			break
		}
		i += 2 + next
	}
	return false
}
