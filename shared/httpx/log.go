package httpx

import (
	"context"
	"io"
	"log/slog"
)

// ContextHandler adds request_id and event_id from the context to every
// record, so a line can be traced to the call or delivery that caused it.
type ContextHandler struct{ slog.Handler }

func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if id := EventID(ctx); id != "" {
		r.AddAttrs(slog.String("event_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ContextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(as)}
}

func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}

// NewLogger returns the platform's JSON logger at level ("debug", "info",
// "warn", "error"; default info).
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(ContextHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})})
}
