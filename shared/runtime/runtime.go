// Package runtime turns a SmartReg function into a server: its HTTP routes
// and its CloudEvent receiver on one port, health and readiness probes,
// Prometheus metrics, request/event ids in logs, and a graceful shutdown
// that drains in-flight requests as Knative expects on SIGTERM.
package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// Function is what every SmartReg function offers the runtime.
type Function interface {
	Handler() http.Handler
	Receive(ctx context.Context, e event.Event) (*event.Event, error)
	Ready(ctx context.Context) error
}

// Handler composes fn under name: CloudEvents posted to "/" or "/<name>/"
// go to Receive, probes answer at /healthz, /readyz (also under
// /<name>/), metrics at /metrics, everything else to fn's routes.
func Handler(name string, fn Function, log *slog.Logger, m *Metrics) http.Handler {
	routes := fn.Handler()
	prefix := "/" + name
	mux := http.NewServeMux()
	for _, p := range []string{"", prefix} {
		mux.HandleFunc("GET "+p+"/healthz", func(w http.ResponseWriter, r *http.Request) {
			httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok", "function": name})
		})
		mux.HandleFunc("GET "+p+"/readyz", readyz(name, fn, log))
	}
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	mux.Handle("/", routes)
	recv := receiver(name, fn, log, m)
	return withRequestID(instrument(name, m, log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (r.URL.Path == "/" || r.URL.Path == prefix+"/") && isCloudEvent(r) {
			recv(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})))
}

func readyz(name string, fn Function, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := fn.Ready(ctx); err != nil {
			log.WarnContext(ctx, "not ready", "function", name, "err", err)
			httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "function": name, "reason": err.Error()})
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]string{"status": "ready", "function": name})
	}
}

func isCloudEvent(r *http.Request) bool {
	return r.Header.Get("Ce-Specversion") != "" ||
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/cloudevents")
}

// receiver decodes a CloudEvent (binary or structured), calls Receive, and
// answers as Knative brokers expect: 2xx ack (with an optional reply event),
// 400 for events that will never succeed (not retried), 5xx to retry.
func receiver(name string, fn Function, log *slog.Logger, m *Metrics) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			m.event(name, "unknown", "malformed")
			httpx.Error(w, r, log, errs.Wrap(errs.Invalid, "无法解析的 CloudEvent", err))
			return
		}
		ctx := httpx.WithEventID(r.Context(), e.ID())
		reply, err := fn.Receive(ctx, *e)
		if err != nil {
			code := errs.CodeOf(err)
			m.event(name, e.Type(), string(code))
			log.WarnContext(ctx, "event handling failed", "function", name, "event_type", e.Type(), "code", code, "err", err)
			status := http.StatusInternalServerError
			if code == errs.Invalid {
				status = http.StatusBadRequest
			} else if code == errs.Unavailable {
				status = http.StatusServiceUnavailable
			}
			httpx.JSON(w, status, map[string]string{"code": string(code), "message": err.Error()})
			return
		}
		m.event(name, e.Type(), "ok")
		if reply == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if err := cehttp.WriteResponseWriter(ctx, binding.ToMessage(reply), http.StatusOK, w); err != nil {
			log.ErrorContext(ctx, "write reply event", "err", err)
		}
	}
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(httpx.WithRequestID(r.Context(), id)))
	})
}

// Serve runs h on addr until ctx ends, then stops accepting, waits up to
// drain for in-flight requests (Knative sends SIGTERM and keeps routing for
// a grace period), and returns.
func Serve(ctx context.Context, addr string, h http.Handler, drain time.Duration, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, h, drain, log)
}

// ServeListener is Serve on an existing listener (tests use port 0).
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, drain time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down, draining in-flight requests", "drain", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
