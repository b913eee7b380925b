package httpx

import (
	"context"
	"log/slog"
	"net/http"
)

// Reply is a handler's answer when it is not "200 with this JSON body".
type Reply struct {
	Status int
	Body   any // nil: no body
	Header http.Header
}

// Created answers 201 with v and its Location.
func Created(v any, location string) Reply {
	h := http.Header{}
	if location != "" {
		h.Set("Location", location)
	}
	return Reply{Status: http.StatusCreated, Body: v, Header: h}
}

// Accepted answers 202 with v (work queued).
func Accepted(v any) Reply { return Reply{Status: http.StatusAccepted, Body: v} }

// NoContent answers 204.
func NoContent() Reply { return Reply{Status: http.StatusNoContent} }

// Endpoint is a handler that returns a value or an error: the adapter
// writes the answer (200 JSON, or a Reply), and every error through Fail,
// so no handler repeats the decode / call / fail sequence.
type Endpoint func(r *http.Request) (any, error)

func (e Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, err := e(r)
	if err != nil {
		Fail(w, r, err)
		return
	}
	Write(w, v)
}

// Write answers v: a Reply as it says, anything else as 200 JSON.
func Write(w http.ResponseWriter, v any) {
	rep, ok := v.(Reply)
	if !ok {
		JSON(w, http.StatusOK, v)
		return
	}
	for k, vs := range rep.Header {
		for _, s := range vs {
			w.Header().Add(k, s)
		}
	}
	if rep.Body == nil {
		w.WriteHeader(rep.Status)
		return
	}
	JSON(w, rep.Status, rep.Body)
}

// Body is an Endpoint that first decodes and validates the JSON body
// into a T (Decode).
func Body[T any](fn func(r *http.Request, in T) (any, error)) Endpoint {
	return func(r *http.Request) (any, error) {
		var in T
		if err := Decode(r, &in); err != nil {
			return nil, err
		}
		return fn(r, in)
	}
}

// Fail answers err with the logger the runtime put in the request's
// context.
// An explicit status overrides the code's (405 has no code of its own).
func Fail(w http.ResponseWriter, r *http.Request, err error, status ...int) {
	if len(status) > 0 {
		ErrorStatus(w, r, Logger(r.Context()), err, status[0])
		return
	}
	Error(w, r, Logger(r.Context()), err)
}

type loggerKey struct{}

// WithLogger carries the function's logger to handlers and Fail.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger is the logger WithLogger stored, else slog's default logger
// (which writes to stderr), so an error is never dropped unlogged.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
