package knative

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // time zones must not depend on the machine running the test

	"github.com/robfig/cron/v3"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/infra/knative/manifest"
)

// Knative Eventing's API module is not available from our module proxy, so
// Brokers, Triggers and PingSources are checked here against the rules that
// matter for routing; Services are checked by Knative Serving itself.

func load(t *testing.T) *manifest.Set {
	t.Helper()
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// The embed pattern in embed.go lists directories by hand; a manifest put in
// a new directory would be deployed but never routed locally.
func TestEmbedCoversEveryManifest(t *testing.T) {
	onDisk, err := manifest.LoadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(onDisk, load(t)) {
		t.Error("the manifests on disk differ from the embedded ones: add the new file or directory to the go:embed line in embed.go")
	}
}

// TestServicesValidate runs every Service through Knative Serving's own
// defaulting and validation, as the admission webhook would on create.
// Warnings fail the test too: they are what kubectl prints on apply, and a
// warning today (an insecure default, a deprecated annotation) is usually
// an error in a later Knative release.
func TestServicesValidate(t *testing.T) {
	set := load(t)
	if len(set.Services) == 0 {
		t.Fatal("no Services loaded")
	}
	for _, s := range set.Services {
		t.Run(s.Name, func(t *testing.T) {
			ksvc, fe, err := validateService(s.Raw)
			if err != nil {
				t.Fatalf("%s: %v", s.File, err)
			}
			if errs := fe.Filter(apis.ErrorLevel); errs != nil {
				t.Errorf("%s: errors:\n%v", s.File, errs)
			}
			if warns := fe.Filter(apis.WarningLevel); warns != nil {
				t.Errorf("%s: warnings:\n%v", s.File, warns)
			}
			if s.Namespace != "smartreg" {
				t.Errorf("%s: namespace %q, want smartreg", s.File, s.Namespace)
			}
			if !strings.HasPrefix(s.Image, "ko://github.com/sjzamr/smartreg/") {
				t.Errorf("%s: image %q is not a ko:// path in this repository", s.File, s.Image)
			}
			for _, c := range ksvc.Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					if e.Name == "PORT" {
						t.Errorf("%s: sets PORT, which Knative owns", s.File)
					}
				}
			}
		})
	}
}

// validateService decodes a Service document into Knative's type, then
// defaults and validates it as the admission webhook would on create.
func validateService(raw []byte) (*servingv1.Service, *apis.FieldError, error) {
	var ksvc servingv1.Service
	dec := json.NewDecoder(bytes.NewReader(raw))
	// A misspelt field (readinesProbe) would otherwise vanish silently,
	// exactly as it does in a cluster without server-side validation.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ksvc); err != nil {
		return nil, nil, fmt.Errorf("decode into serving.knative.dev/v1 Service: %w", err)
	}
	ctx := apis.WithinCreate(context.Background())
	ksvc.SetDefaults(ctx)
	return &ksvc, ksvc.Validate(ctx), nil
}

// The check above passes only if it can fail: without its securityContext
// the registry Service must draw Knative's insecure-default warnings, and a
// misspelt field must be refused.
func TestValidateServiceCatchesWarnings(t *testing.T) {
	svc, ok := load(t).Service("registry")
	if !ok {
		t.Fatal("Service registry is missing")
	}
	var doc map[string]any
	if err := json.Unmarshal(svc.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	c := doc["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	delete(c, "securityContext")
	raw, _ := json.Marshal(doc)
	_, fe, err := validateService(raw)
	if err != nil {
		t.Fatal(err)
	}
	if fe.Filter(apis.WarningLevel) == nil {
		t.Error("no warnings for a container without securityContext")
	}

	c["readinesProbe"] = c["readinessProbe"]
	raw, _ = json.Marshal(doc)
	if _, _, err := validateService(raw); err == nil {
		t.Error("a misspelt field was accepted")
	}
}

// checkDestination reports whether d names something that exists in set:
// a Service or Broker we declare, or an absolute URI outside the cluster.
func checkDestination(set *manifest.Set, d manifest.Destination) error {
	if !d.IsRef() {
		u, err := url.Parse(d.URI)
		if err != nil || !u.IsAbs() || u.Host == "" {
			return fmt.Errorf("uri %q is not a valid absolute URI", d.URI)
		}
		return nil
	}
	switch {
	case d.RefKind == "Service" && d.RefAPIVersion == "serving.knative.dev/v1":
		if _, ok := set.Service(d.RefName); !ok {
			return fmt.Errorf("Service %q is not declared", d.RefName)
		}
	case d.RefKind == "Broker" && d.RefAPIVersion == "eventing.knative.dev/v1":
		if _, ok := set.Brokers[d.RefName]; !ok {
			return fmt.Errorf("Broker %q is not declared", d.RefName)
		}
	default:
		return fmt.Errorf("%s: refs must name a serving.knative.dev/v1 Service or an eventing.knative.dev/v1 Broker", d)
	}
	return nil
}

func checkDelivery(set *manifest.Set, d manifest.Delivery) error {
	if d.DeadLetterSink == nil {
		// Knative drops an event that exhausts its retries when there is no
		// sink; we never want that.
		return fmt.Errorf("no deadLetterSink: events that exhaust their retries would be dropped")
	}
	if err := checkDestination(set, *d.DeadLetterSink); err != nil {
		return fmt.Errorf("deadLetterSink: %w", err)
	}
	if d.Retry > 0 && d.BackoffDelay <= 0 {
		return fmt.Errorf("retry %d without a backoffDelay retries immediately", d.Retry)
	}
	return nil
}

func TestBrokers(t *testing.T) {
	set := load(t)
	if _, ok := set.Brokers["default"]; !ok {
		t.Fatal("Broker default is not declared")
	}
	for name, b := range set.Brokers {
		if b.Class == "" {
			t.Errorf("%s: Broker %s: set %s so production never falls back to the in-memory channel", b.File, name, manifest.BrokerClassAnnotation)
		}
		if err := checkDelivery(set, b.Delivery); err != nil {
			t.Errorf("%s: Broker %s: %v", b.File, name, err)
		}
	}
}

func TestTriggers(t *testing.T) {
	set := load(t)
	sources := map[string]bool{}
	for _, p := range set.PingSources {
		sources[p.Source] = true
	}
	for _, tr := range set.Triggers {
		where := tr.File + ": Trigger " + tr.Name
		if _, ok := set.Brokers[tr.Broker]; !ok {
			t.Errorf("%s: Broker %q is not declared", where, tr.Broker)
		}
		if err := checkDestination(set, tr.Subscriber); err != nil {
			t.Errorf("%s: subscriber: %v", where, err)
		}
		if err := checkDelivery(set, tr.Delivery); err != nil {
			t.Errorf("%s: delivery: %v", where, err)
		}
		typ, ok := tr.Filter["type"]
		if !ok || typ == "" {
			continue // receives every type; the catalogue lists it under each
		}
		if !events.Known(typ) {
			t.Errorf("%s: type %q is not in the event catalogue (events.Catalogue)", where, typ)
		}
		if typ == events.Ping {
			// Every PingSource emits the same type: without its source the
			// Trigger would fire on every schedule.
			if src := tr.Filter["source"]; !sources[src] {
				t.Errorf("%s: a %s Trigger must filter on the source of a declared PingSource, has %q", where, events.Ping, src)
			}
		}
	}
}

func TestPingSources(t *testing.T) {
	set := load(t)
	for _, p := range set.PingSources {
		where := p.File + ": PingSource " + p.Name
		if _, err := cron.ParseStandard(p.Schedule); err != nil {
			t.Errorf("%s: schedule %q: %v", where, p.Schedule, err)
		}
		if f := strings.Fields(p.Schedule); len(f) != 5 {
			t.Errorf("%s: schedule %q is not a 5-field cron expression", where, p.Schedule)
		}
		if p.Timezone == "" {
			t.Errorf("%s: set a timezone; the default is UTC", where)
		} else if _, err := time.LoadLocation(p.Timezone); err != nil {
			t.Errorf("%s: timezone: %v", where, err)
		}
		if err := checkDestination(set, p.Sink); err != nil {
			t.Errorf("%s: sink: %v", where, err)
		}
		if p.ContentType == "application/json" && !json.Valid([]byte(p.Data)) {
			t.Errorf("%s: data %q is not JSON", where, p.Data)
		}
	}
}

// The wiring the brief asked for, pinned so a careless edit shows up here
// and not as a missed nightly run.
func TestRegistryNightly(t *testing.T) {
	set := load(t)
	var tr *manifest.Trigger
	for i := range set.Triggers {
		if set.Triggers[i].Name == "registry-nightly" {
			tr = &set.Triggers[i]
		}
	}
	if tr == nil {
		t.Fatal("Trigger registry-nightly is missing")
	}
	var ps *manifest.PingSource
	for i := range set.PingSources {
		if set.PingSources[i].Name == "registry-nightly" {
			ps = &set.PingSources[i]
		}
	}
	if ps == nil {
		t.Fatal("PingSource registry-nightly is missing")
	}
	tick := map[string]string{"type": events.Ping, "source": ps.Source, "specversion": "1.0", "id": "x"}
	got := set.Matching(tr.Broker, tick)
	if len(got) != 1 || got[0].Name != "registry-nightly" || got[0].Subscriber.RefName != "registry" {
		t.Errorf("a registry-nightly tick routes to %+v, want only registry via registry-nightly", got)
	}
	d := tr.Delivery
	if d.Retry != 3 || d.BackoffPolicy != manifest.BackoffExponential || d.BackoffDelay != time.Second {
		t.Errorf("registry-nightly delivery = %+v", d)
	}
	b := set.Brokers["default"].Delivery
	if b.Retry != 5 || b.BackoffPolicy != manifest.BackoffExponential || b.BackoffDelay != 500*time.Millisecond {
		t.Errorf("broker default delivery = %+v", b)
	}
}
