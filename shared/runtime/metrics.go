package runtime

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// Metrics is one process's Prometheus registry (no global registry, so tests
// and the one-process platform can build as many as they like).
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	events   *prometheus.CounterVec
}

// NewMetrics creates the registry with Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smartreg_http_requests_total", Help: "HTTP requests by function, method and status.",
		}, []string{"function", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "smartreg_http_request_duration_seconds", Help: "HTTP request latency by function.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .5, 1, 2.5, 5},
		}, []string{"function", "method"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smartreg_events_received_total", Help: "CloudEvents received by function, type and result.",
		}, []string{"function", "type", "result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.events,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry lets other parts (the broker, the relay) register their own metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) event(function, typ, result string) {
	if m != nil {
		m.events.WithLabelValues(function, typ, result).Inc()
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// WriteString passes strings through without a copy when the underlying
// writer can take them (net/http's can): pages served from a cache as
// strings would otherwise be converted to bytes on every request.
func (w *statusWriter) WriteString(s string) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return io.WriteString(w.ResponseWriter, s)
}

// Flush keeps streaming responses (SSE, downloads) working through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times requests and recovers panics into a 500, so
// one bad request never takes the process down.
func instrument(function string, m *Metrics, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(r.Context(), "panic in handler", "function", function, "panic", p, "path", r.URL.Path)
				if sw.status == 0 {
					httpx.Fail(sw, r, errs.New(errs.Internal, "系统内部错误，请稍后重试"))
				}
			}
			if m != nil {
				status := sw.status
				if status == 0 {
					status = http.StatusOK
				}
				m.requests.WithLabelValues(function, r.Method, strconv.Itoa(status)).Inc()
				m.latency.WithLabelValues(function, r.Method).Observe(time.Since(start).Seconds())
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
