// Package runtime turns a SmartReg function into a server: its HTTP routes
// with health and readiness probes, request ids, client addresses and one
// error shape; its CloudEvent receiver, reachable only through an
// authenticated delivery path; Prometheus metrics; the optional Start and
// Stop of its background work; and a graceful shutdown that drains
// in-flight requests as Knative expects on SIGTERM.
//
// The public handler (Handler) never accepts events. Events come through
// Events, which refuses every request its EventAuth does not
// authenticate: in Knative the Broker's OIDC token (Knative serves both
// on one port, combined by Knative), in the one-process platform the
// local broker calls the handler in-process with a per-process secret.
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

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// Function is what every SmartReg function offers the runtime.
type Function interface {
	Handler() http.Handler
	Receive(ctx context.Context, e event.Event) (*event.Event, error)
	Ready(ctx context.Context) error
}

// Starter is a function with background work (a flusher, a job runner,
// key rotation). New stays cheap; Start does the first I/O and starts the
// goroutines. It is called once, before the function serves.
type Starter interface {
	Start(ctx context.Context) error
}

// Stopper ends what Start began, after the server has drained, flushing
// what it buffered within ctx's deadline.
type Stopper interface {
	Stop(ctx context.Context) error
}

// Start calls fn's Start when it has one.
func Start(ctx context.Context, fn any) error {
	if s, ok := fn.(Starter); ok {
		return s.Start(ctx)
	}
	return nil
}

// Stop calls fn's Stop when it has one.
func Stop(ctx context.Context, fn any) error {
	if s, ok := fn.(Stopper); ok {
		return s.Stop(ctx)
	}
	return nil
}

// Documented is a function that publishes its API's OpenAPI document,
// which the runtime serves at path ("/registry/v1/openapi.yaml").
type Documented interface {
	OpenAPI() (path string, doc []byte)
}

// Options are what every handler of a process shares.
type Options struct {
	Logger  *slog.Logger
	Metrics *Metrics      // nil: not counted
	Proxies httpx.Proxies // trusted reverse proxies, for ClientIP
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// Handler is fn's public face under name: probes at /healthz and /readyz
// (also under /<name>/), metrics at /metrics when o.Metrics is set, and
// fn's routes. It never accepts an event: a CloudEvent posted here reaches
// only fn's routes, which do not route it.
func Handler(name string, fn Function, o Options) http.Handler {
	log := o.logger()
	routes := fn.Handler()
	prefix := "/" + name
	mux := http.NewServeMux()
	for _, p := range []string{"", prefix} {
		mux.HandleFunc("GET "+p+"/healthz", func(w http.ResponseWriter, r *http.Request) {
			httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok", "function": name})
		})
		mux.HandleFunc("GET "+p+"/readyz", readyz(name, fn, log))
	}
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics.Handler())
	}
	if d, ok := fn.(Documented); ok {
		path, doc := d.OpenAPI()
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
			_, _ = w.Write(doc)
		})
	}
	mux.Handle("/", routes)
	return edge(name, o, httpx.CheckQuery(mux))
}

// edge is what every request passes first: its id, the function's logger,
// the client address, counting, timing and panic recovery.
func edge(name string, o Options, next http.Handler) http.Handler {
	log := o.logger()
	return withRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := httpx.WithLogger(r.Context(), log)
		ctx = httpx.WithClientIP(ctx, o.Proxies.ClientIP(r))
		instrument(name, o.Metrics, log, next).ServeHTTP(w, r.WithContext(ctx))
	}))
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

// IsCloudEvent reports whether r carries a CloudEvent (binary mode with
// Ce-Specversion, or structured/batched content).
func IsCloudEvent(r *http.Request) bool {
	return r.Header.Get("Ce-Specversion") != "" ||
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/cloudevents")
}

// EventAuth decides whether a delivery comes from the platform's broker.
// It returns an error for anything else; the receiver answers 401 and
// never decodes the event.
type EventAuth interface {
	AuthenticateEvent(r *http.Request) error
}

// MsgEventRefused is the answer to an unauthenticated delivery.
const MsgEventRefused = "事件投递未经认证，已拒绝"

// Events is fn's CloudEvent receiver: only requests auth accepts are
// decoded (binary or structured) and passed to Receive. The answers follow
// Knative's broker contract: 2xx ack (with an optional reply event), 400
// for events that will never succeed (not retried), 5xx to retry.
func Events(name string, fn Function, auth EventAuth, o Options) http.Handler {
	log := o.logger()
	recv := receiver(name, fn, log, o.Metrics)
	return edge(name, o, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth == nil {
			httpx.Fail(w, r, errs.New(errs.Unauthorized, MsgEventRefused))
			return
		}
		if err := auth.AuthenticateEvent(r); err != nil {
			o.Metrics.event(name, "unknown", "unauthenticated")
			log.WarnContext(r.Context(), "event delivery refused", "function", name, "err", err,
				"client_ip", httpx.ClientIP(r), "ce_type", r.Header.Get("Ce-Type"))
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			httpx.Fail(w, r, errs.New(errs.Unauthorized, MsgEventRefused))
			return
		}
		if r.Method != http.MethodPost || !IsCloudEvent(r) {
			httpx.Fail(w, r, errs.New(errs.Invalid, "此地址只接收 CloudEvent 事件"))
			return
		}
		recv(w, r)
	}))
}

// Knative is the one port of a Knative Service: a CloudEvent posted to
// "/" goes to Events (and must carry the Broker's OIDC token), everything
// else to Handler. A CloudEvent anywhere else is just a request to fn's
// routes.
func Knative(name string, fn Function, auth EventAuth, o Options) http.Handler {
	pub := Handler(name, fn, o)
	ev := Events(name, fn, auth, o)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/" && IsCloudEvent(r) {
			ev.ServeHTTP(w, r)
			return
		}
		pub.ServeHTTP(w, r)
	})
}

func receiver(name string, fn Function, log *slog.Logger, m *Metrics) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			m.event(name, "unknown", "malformed")
			httpx.Fail(w, r, errs.Wrap(errs.Invalid, "无法解析的 CloudEvent", err))
			return
		}
		ctx := httpx.WithEventID(r.Context(), e.ID())
		reply, err := fn.Receive(ctx, *e)
		if err != nil {
			var de *events.DecodeError
			if errors.As(err, &de) && errs.As(err) == nil {
				err = errs.Wrap(errs.Invalid, "事件数据无法解析", err)
			}
			code := errs.CodeOf(err)
			m.event(name, e.Type(), string(code))
			log.WarnContext(ctx, "event handling failed", "function", name, "event_type", e.Type(), "code", code, "err", err)
			// The one code → status mapping serves the broker too: it
			// retries 5xx, 404, 409 (not yet there, busy) and dead-letters
			// 400, 401 and 403 (never going to succeed).
			httpx.Fail(w, r.WithContext(ctx), err)
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
		if id == "" || len(id) > 64 || !httpx.ValidText(id) {
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
