package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/sjzamr/smartreg/infra/knative/manifest"
)

// DeliverArgs is one event on its way to one Trigger's subscriber.
type DeliverArgs struct {
	Trigger string          `json:"trigger"`
	Event   json.RawMessage `json:"event"`
}

func (DeliverArgs) Kind() string { return "deliver" }

// sink sends an event to a subscriber and reports the HTTP status.
type sink interface {
	send(ctx context.Context, e event.Event) (status int, err error)
	String() string
}

func (b *Broker) resolve(d manifest.Destination) (sink, error) {
	if d.IsRef() {
		h, ok := b.cfg.Subscribers[d.RefName]
		if !ok {
			return nil, fmt.Errorf("subscriber %s is not a function of this process", d.RefName)
		}
		return handlerSink{name: d.RefName, h: h, authorize: b.cfg.Authorize}, nil
	}
	if d.URI != "" {
		return uriSink{uri: d.URI, client: b.cfg.HTTPClient}, nil
	}
	return nil, errors.New("subscriber has neither ref nor uri")
}

// handlerSink calls a function in this process through its HTTP handler,
// so the event takes the same decoding path as in Knative.
type handlerSink struct {
	name      string
	h         http.Handler
	authorize func(*http.Request)
}

func (s handlerSink) String() string { return "service/" + s.name }

func (s handlerSink) send(ctx context.Context, e event.Event) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	if err != nil {
		return 0, err
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return 0, fmt.Errorf("encode event: %w", err)
	}
	if s.authorize != nil {
		s.authorize(req)
	}
	rec := &recorder{header: http.Header{}}
	s.h.ServeHTTP(rec, req)
	return rec.statusCode(), rec.err()
}

type uriSink struct {
	uri    string
	client *http.Client
}

func (s uriSink) String() string { return s.uri }

func (s uriSink) send(ctx context.Context, e event.Event) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.uri, nil)
	if err != nil {
		return 0, err
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return 0, fmt.Errorf("encode event: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("subscriber answered %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return resp.StatusCode, nil
}

// recorder is a minimal in-memory ResponseWriter for in-process delivery.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(c int) {
	if r.code == 0 {
		r.code = c
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if r.body.Len() < 512 {
		r.body.Write(p[:min(len(p), 512)])
	}
	return len(p), nil
}
func (r *recorder) statusCode() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
func (r *recorder) err() error {
	if c := r.statusCode(); c >= 300 {
		return fmt.Errorf("subscriber answered %d: %s", c, bytes.TrimSpace(r.body.Bytes()))
	}
	return nil
}

// retryable mirrors Knative's dispatcher: a missing answer, 5xx, 404, 408,
// 409 and 429 are retried; any other refusal goes straight to dead letters.
func retryable(status int) bool {
	switch {
	case status == 0, status >= 500:
		return true
	case status == http.StatusNotFound, status == http.StatusRequestTimeout,
		status == http.StatusConflict, status == http.StatusTooManyRequests:
		return true
	}
	return false
}

type counters struct {
	delivered, retried, deadLettered atomic.Int64
}

// Stats reports deliveries since start, for tests and the operations page.
func (b *Broker) Stats() (delivered, retried, deadLettered int64) {
	return b.counts.delivered.Load(), b.counts.retried.Load(), b.counts.deadLettered.Load()
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	b *Broker
}

func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 45 * time.Second }

// NextRetry applies the Trigger's backoff instead of River's default.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	t, ok := w.b.trigger(job.Args.Trigger)
	if !ok {
		return time.Time{}
	}
	return w.b.now().Add(t.Delivery.Backoff(job.Attempt))
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	b := w.b
	t, ok := b.trigger(job.Args.Trigger)
	if !ok {
		// The manifest changed under a queued delivery: keep it for an operator.
		return b.deadLetter(ctx, job, "", 0, fmt.Errorf("trigger %s no longer exists", job.Args.Trigger))
	}
	var e event.Event
	if err := json.Unmarshal(job.Args.Event, &e); err != nil {
		return b.deadLetter(ctx, job, t.Subscriber.String(), 0, fmt.Errorf("stored event unreadable: %w", err))
	}
	s := b.sinks[t.Name]
	status, err := s.send(ctx, e)
	if err == nil {
		b.counts.delivered.Add(1)
		return nil
	}
	last := job.Attempt >= job.MaxAttempts
	if retryable(status) && !last {
		b.counts.retried.Add(1)
		b.log.WarnContext(ctx, "delivery failed, will retry", "trigger", t.Name, "subscriber", s.String(),
			"event_id", e.ID(), "attempt", job.Attempt, "status", status, "err", err)
		return err
	}
	return b.deadLetter(ctx, job, s.String(), status, err)
}

// deadLetter records the failed delivery and completes the job in one
// transaction, so the event is in exactly one place: queue or dead letters.
func (b *Broker) deadLetter(ctx context.Context, job *river.Job[DeliverArgs], subscriber string, status int, cause error) error {
	var e event.Event
	_ = json.Unmarshal(job.Args.Event, &e)
	err := pgx.BeginFunc(ctx, b.cfg.Pool, func(tx pgx.Tx) error {
		err := insertDeadLetter(ctx, tx, deadLetterRow{trigger: job.Args.Trigger, subscriber: subscriber, eventID: e.ID(),
			eventType: e.Type(), event: job.Args.Event, attempts: job.Attempt, status: status, lastError: cause.Error()})
		if err != nil {
			return err
		}
		_, err = river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", e.ID(), err)
	}
	b.counts.deadLettered.Add(1)
	b.log.ErrorContext(ctx, "delivery dead-lettered", "trigger", job.Args.Trigger, "subscriber", subscriber,
		"event_id", e.ID(), "event_type", e.Type(), "attempts", job.Attempt, "status", status, "err", cause)
	return nil
}
