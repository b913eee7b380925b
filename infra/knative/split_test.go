package knative

import (
	"testing"
	"time"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/infra/knative/manifest"
)

// Notify's Service is tuned for streams (issue 23): a stream ends by
// itself (NOTIFY_SSE_MAX_AGE) before Knative's request timeout would cut
// it with an error, a keep-alive comes well within the idle timeout, the
// Service never scales to zero, and it scales on streams in flight.
func TestNotifyServiceIsTunedForStreams(t *testing.T) {
	svc, ok := load(t).Service("notify")
	if !ok {
		t.Fatal("Service notify is missing")
	}
	ksvc, _, err := validateService(svc.Raw)
	if err != nil {
		t.Fatal(err)
	}
	spec := ksvc.Spec.Template.Spec
	env := map[string]string{}
	for _, e := range spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	maxAge, err := time.ParseDuration(env["NOTIFY_SSE_MAX_AGE"])
	if err != nil {
		t.Fatalf("NOTIFY_SSE_MAX_AGE: %v", err)
	}
	keep, err := time.ParseDuration(env["NOTIFY_SSE_KEEPALIVE"])
	if err != nil {
		t.Fatalf("NOTIFY_SSE_KEEPALIVE: %v", err)
	}
	if spec.TimeoutSeconds == nil || time.Duration(*spec.TimeoutSeconds)*time.Second-maxAge < 30*time.Second {
		t.Errorf("NOTIFY_SSE_MAX_AGE %v leaves less than 30 s to timeoutSeconds %v", maxAge, spec.TimeoutSeconds)
	}
	if spec.IdleTimeoutSeconds == nil || 2*keep > time.Duration(*spec.IdleTimeoutSeconds)*time.Second {
		t.Errorf("keep-alive %v is not well within idleTimeoutSeconds %v", keep, spec.IdleTimeoutSeconds)
	}
	a := ksvc.Spec.Template.Annotations
	if a["autoscaling.knative.dev/metric"] != "concurrency" || a["autoscaling.knative.dev/min-scale"] < "1" {
		t.Errorf("notify autoscaling = %v", a)
	}
}

// Audit down for a while loses nothing (issue 23): its Triggers retry for
// more than an hour before a row goes to the dead-letter store (from which
// it is replayed), far more than the Broker's default half a minute.
func TestAuditTriggersOutlastAnOutage(t *testing.T) {
	set := load(t)
	for _, typ := range []string{events.AuditOperationRecorded, events.AuditLoginRecorded} {
		got := set.Matching("default", map[string]string{"type": typ, "source": "/functions/identity", "specversion": "1.0", "id": "x"})
		if len(got) != 1 || got[0].Subscriber.RefName != "audit" {
			t.Fatalf("%s routes to %+v, want audit alone", typ, got)
		}
		if d := retryingFor(got[0].Delivery); d < time.Hour {
			t.Errorf("%s: retries cover %v of an outage, want at least an hour", typ, d)
		}
	}
	for _, typ := range []string{events.NotifyNoticeRequested, events.IdentityNoticeRequested} {
		got := set.Matching("default", map[string]string{"type": typ, "source": "/functions/audit", "specversion": "1.0", "id": "x"})
		if len(got) != 1 || got[0].Subscriber.RefName != "notify" {
			t.Errorf("%s routes to %+v, want notify alone", typ, got)
		}
	}
}

func retryingFor(d manifest.Delivery) time.Duration {
	var total time.Duration
	for n := 1; n <= d.Retry; n++ {
		total += d.Backoff(n)
	}
	return total
}
