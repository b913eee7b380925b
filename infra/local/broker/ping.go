package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/infra/knative/manifest"
)

// PingArgs fires one PingSource.
type PingArgs struct {
	Source string `json:"source"`
}

func (PingArgs) Kind() string { return "ping" }

// pingSchedules turns every PingSource into a River periodic job; River
// elects one leader, so a schedule fires once however many replicas run.
func (b *Broker) pingSchedules() ([]*river.PeriodicJob, error) {
	var jobs []*river.PeriodicJob
	for _, ps := range b.cfg.Manifests.PingSources {
		spec := ps.Schedule
		if ps.Timezone != "" {
			spec = "CRON_TZ=" + ps.Timezone + " " + spec
		}
		sched, err := cron.ParseStandard(spec)
		if err != nil {
			return nil, fmt.Errorf("pingsource %s (%s): schedule %q: %w", ps.Name, ps.File, ps.Schedule, err)
		}
		if ps.Sink.IsRef() && ps.Sink.RefKind != "Broker" {
			if _, err := b.resolve(ps.Sink); err != nil {
				return nil, fmt.Errorf("pingsource %s: %w", ps.Name, err)
			}
		}
		name := ps.Name
		jobs = append(jobs, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
			return PingArgs{Source: name}, &river.InsertOpts{Queue: queueSchedule, MaxAttempts: 5}
		}, &river.PeriodicJobOpts{ID: "pingsource/" + name}))
	}
	return jobs, nil
}

type pingWorker struct {
	river.WorkerDefaults[PingArgs]
	b *Broker
}

// Work emits the PingSource's event. The id derives from the job, so a
// retried job emits the same id and subscribers dedupe it.
func (w *pingWorker) Work(ctx context.Context, job *river.Job[PingArgs]) error {
	ps, ok := w.b.pingSource(job.Args.Source)
	if !ok {
		return nil // removed from the manifests since it was scheduled
	}
	e, err := pingEvent(ps, "ping-"+ps.Name+"-"+strconv.FormatInt(job.ID, 10), w.b.now())
	if err != nil {
		return err
	}
	return w.b.Fire(ctx, ps, e)
}

// Fire sends a PingSource's event to its sink: through the broker when the
// sink is the Broker, else straight to the subscriber.
func (b *Broker) Fire(ctx context.Context, ps manifest.PingSource, e event.Event) error {
	if ps.Sink.IsRef() && ps.Sink.RefKind == "Broker" {
		return b.Publish(ctx, e)
	}
	s, err := b.resolve(ps.Sink)
	if err != nil {
		return err
	}
	_, err = s.send(ctx, e)
	return err
}

// FireNow runs a PingSource immediately (the `smartreg ping` command and
// tests), with a fresh event id.
func (b *Broker) FireNow(ctx context.Context, name, id string) error {
	ps, ok := b.pingSource(name)
	if !ok {
		return fmt.Errorf("no pingsource %s", name)
	}
	e, err := pingEvent(ps, id, b.now())
	if err != nil {
		return err
	}
	return b.Fire(ctx, ps, e)
}

func (b *Broker) pingSource(name string) (manifest.PingSource, bool) {
	for _, ps := range b.cfg.Manifests.PingSources {
		if ps.Name == name {
			return ps, true
		}
	}
	return manifest.PingSource{}, false
}

func pingEvent(ps manifest.PingSource, id string, now time.Time) (event.Event, error) {
	e := event.New()
	e.SetID(id)
	e.SetType(events.Ping)
	e.SetSource(ps.Source)
	e.SetTime(now)
	ct := ps.ContentType
	if ct == "" {
		ct = event.ApplicationJSON
	}
	var data any = []byte(ps.Data)
	if ct == event.ApplicationJSON && ps.Data != "" {
		var v any
		if err := json.Unmarshal([]byte(ps.Data), &v); err != nil {
			return e, fmt.Errorf("pingsource %s data is not JSON: %w", ps.Name, err)
		}
		data = v
	}
	if err := e.SetData(ct, data); err != nil {
		return e, err
	}
	return e, e.Validate()
}
