package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestParseDuration(t *testing.T) {
	ok := []struct {
		in   string
		want time.Duration
	}{
		{"PT0.5S", 500 * time.Millisecond},
		{"PT1S", time.Second},
		{"PT2M", 2 * time.Minute},
		{"PT1H30M", 90 * time.Minute},
		{"PT1H30M15S", time.Hour + 30*time.Minute + 15*time.Second},
		{"PT0,25S", 250 * time.Millisecond},
		{"PT1.5M", 90 * time.Second},
		{"P1D", 24 * time.Hour},
		{"P1DT12H", 36 * time.Hour},
		{"P1W", 7 * 24 * time.Hour},
		{"PT0S", 0},
	}
	for _, c := range ok {
		got, err := ParseDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"", "1S", "P", "PT", "P1DT", "PT1", "PTS", "PT-1S", "-PT1S",
		"PT1S1M",   // out of order
		"PT1M1M",   // repeated
		"P1H",      // hours belong after T
		"PT1D",     // days belong before T
		"P2M",      // months: calendar-dependent
		"P1Y",      // years: calendar-dependent
		"PT1.2.3S", // not a number
		"PT1X",
		"PTT1S",
		"1s", // Go syntax is not ISO-8601
	}
	for _, in := range bad {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		} else if !strings.Contains(err.Error(), "ISO-8601") {
			t.Errorf("ParseDuration(%q) error %q does not say what was expected", in, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	exp := Delivery{BackoffPolicy: BackoffExponential, BackoffDelay: 500 * time.Millisecond}
	lin := Delivery{BackoffPolicy: BackoffLinear, BackoffDelay: 500 * time.Millisecond}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second} {
		if got := exp.Backoff(n); got != want {
			t.Errorf("exponential Backoff(%d) = %v, want %v", n, got, want)
		}
	}
	for n, want := range map[int]time.Duration{1: 500 * time.Millisecond, 2: time.Second, 3: 1500 * time.Millisecond} {
		if got := lin.Backoff(n); got != want {
			t.Errorf("linear Backoff(%d) = %v, want %v", n, got, want)
		}
	}
	if got := (Delivery{BackoffDelay: time.Minute}).Backoff(1000); got <= 0 {
		t.Errorf("exponential Backoff(1000) = %v, overflowed", got)
	}
}

func TestTriggerMatches(t *testing.T) {
	tr := Trigger{Filter: map[string]string{"type": "a.b.v1", "source": "/functions/registry"}}
	cases := []struct {
		name  string
		attrs map[string]string
		want  bool
	}{
		{"all-equal", map[string]string{"type": "a.b.v1", "source": "/functions/registry", "subject": "x"}, true},
		{"type-differs", map[string]string{"type": "a.c.v1", "source": "/functions/registry"}, false},
		{"source-missing", map[string]string{"type": "a.b.v1"}, false},
		{"case-matters", map[string]string{"type": "A.B.V1", "source": "/functions/registry"}, false},
	}
	for _, c := range cases {
		if got := tr.Matches(c.attrs); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
	if !(Trigger{}).Matches(map[string]string{"type": "anything"}) {
		t.Error("empty filter must match every event")
	}
	any := Trigger{Filter: map[string]string{"myext": ""}}
	if !any.Matches(map[string]string{"myext": "v"}) || any.Matches(map[string]string{}) {
		t.Error(`filter value "" must match any value of a present attribute only`)
	}
}

const brokerYAML = `
# leading comment and separator, as kubectl allows
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: smartreg
  annotations:
    eventing.knative.dev/broker.class: Kafka
spec:
  delivery:
    retry: 5
    backoffPolicy: exponential
    backoffDelay: PT0.5S
    deadLetterSink:
      ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: dead-letter}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kafka-broker-config, namespace: smartreg}
data: {bootstrap.servers: "kafka:9092"}
--- # trailing separator with a comment
`

const triggersYAML = `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: inherits, namespace: smartreg}
spec:
  broker: default
  filter:
    attributes: {type: cn.gov.sjz.amr.entity.registered.v1}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: qr}
    uri: /events
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: own, namespace: smartreg}
spec:
  broker: default
  subscriber:
    uri: http://example.test/hook
  delivery:
    retry: 3
    backoffPolicy: linear
    backoffDelay: PT2M
`

const pingYAML = `
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: registry-nightly, namespace: smartreg}
spec:
  schedule: "30 2 * * *"
  timezone: Asia/Shanghai
  contentType: application/json
  data: '{"task":"refresh-stats"}'
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
`

const serviceYAML = `
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: qr, namespace: smartreg}
spec:
  template:
    spec:
      containers:
        - image: ko://github.com/sjzamr/smartreg/functions/qr/cmd
`

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"broker.yaml":              {Data: []byte(brokerYAML)},
		"triggers/t.yml":           {Data: []byte(triggersYAML)},
		"pingsources/nightly.yaml": {Data: []byte(pingYAML)},
		"functions/qr.yaml":        {Data: []byte(serviceYAML)},
		"functions/README.md":      {Data: []byte("not: [yaml")},
		"testdata/broken.yaml":     {Data: []byte("kind: [")},
		".hidden/broken.yaml":      {Data: []byte("kind: [")},
	}
	set, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}

	b, ok := set.Brokers["default"]
	if !ok || b.Class != "Kafka" || b.Namespace != "smartreg" || b.File != "broker.yaml" {
		t.Fatalf("broker = %+v", b)
	}
	wantDLS := Destination{RefKind: "Service", RefName: "dead-letter", RefAPIVersion: "serving.knative.dev/v1"}
	if d := b.Delivery; d.Retry != 5 || d.BackoffPolicy != BackoffExponential || d.BackoffDelay != 500*time.Millisecond ||
		d.DeadLetterSink == nil || *d.DeadLetterSink != wantDLS {
		t.Errorf("broker delivery = %+v", d)
	}

	if len(set.Triggers) != 2 {
		t.Fatalf("got %d triggers, want 2", len(set.Triggers))
	}
	inherits, own := set.Triggers[0], set.Triggers[1]
	if inherits.Name != "inherits" || inherits.Delivery.Retry != 5 || inherits.Delivery.DeadLetterSink == nil {
		t.Errorf("trigger without delivery must take the broker's: %+v", inherits.Delivery)
	}
	if inherits.Subscriber.RefName != "qr" || inherits.Subscriber.URI != "/events" {
		t.Errorf("subscriber = %+v", inherits.Subscriber)
	}
	// Knative replaces, not merges: the trigger's block has no dead-letter
	// sink, so neither has its effective delivery.
	if d := own.Delivery; d.Retry != 3 || d.BackoffPolicy != BackoffLinear || d.BackoffDelay != 2*time.Minute || d.DeadLetterSink != nil {
		t.Errorf("trigger with its own delivery = %+v", d)
	}
	if own.Subscriber.URI != "http://example.test/hook" || own.Subscriber.IsRef() {
		t.Errorf("subscriber = %+v", own.Subscriber)
	}
	if got := set.Matching("default", map[string]string{"type": "cn.gov.sjz.amr.entity.registered.v1"}); len(got) != 2 {
		t.Errorf("Matching: got %d triggers, want both (one filters on type, one on nothing)", len(got))
	}
	if got := set.Matching("other", map[string]string{"type": "x"}); len(got) != 0 {
		t.Errorf("Matching on another broker: got %d", len(got))
	}

	if len(set.PingSources) != 1 {
		t.Fatalf("got %d ping sources", len(set.PingSources))
	}
	p := set.PingSources[0]
	if p.Source != "/apis/v1/namespaces/smartreg/pingsources/registry-nightly" {
		t.Errorf("Source = %q", p.Source)
	}
	if p.Schedule != "30 2 * * *" || p.Timezone != "Asia/Shanghai" || p.ContentType != "application/json" ||
		p.Data != `{"task":"refresh-stats"}` || p.Sink.RefKind != "Broker" || p.Sink.RefName != "default" {
		t.Errorf("ping source = %+v", p)
	}

	svc, ok := set.Service("qr")
	if !ok || svc.Image != "ko://github.com/sjzamr/smartreg/functions/qr/cmd" || len(svc.Raw) == 0 {
		t.Errorf("service = %+v", svc)
	}
}

func TestPingSourceDefaultNamespace(t *testing.T) {
	y := strings.Replace(pingYAML, "namespace: smartreg", "", 1)
	set, err := Load(fstest.MapFS{"p.yaml": {Data: []byte(y)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := set.PingSources[0].Source; got != "/apis/v1/namespaces/default/pingsources/registry-nightly" {
		t.Errorf("Source = %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, file, yaml string
		want             []string // substrings of the error
	}{
		{"bad-yaml", "triggers/a.yaml", "kind: [", []string{"triggers/a.yaml", "document 1", "YAML"}},
		{"bad-duration", "triggers/b.yaml", strings.Replace(triggersYAML, "PT2M", "2m", 1),
			[]string{"triggers/b.yaml", "document 2", "Trigger own", "backoffDelay", "ISO-8601"}},
		{"bad-policy", "b.yaml", strings.Replace(brokerYAML, "backoffPolicy: exponential", "backoffPolicy: fibonacci", 1),
			[]string{"b.yaml", "document 1", "Broker default", "backoffPolicy"}},
		{"no-broker", "t.yaml", strings.Replace(triggersYAML, "  broker: default\n  subscriber", "  subscriber", 1),
			[]string{"t.yaml", "document 2", "spec.broker"}},
		{"relative-uri", "t.yaml", strings.Replace(triggersYAML, "http://example.test/hook", "/hook", 1),
			[]string{"t.yaml", "Trigger own", "absolute"}},
		{"ref-incomplete", "p.yaml", strings.Replace(pingYAML, "kind: Broker, ", "", 1),
			[]string{"p.yaml", "PingSource registry-nightly", "spec.sink"}},
		{"old-version", "t.yaml", strings.Replace(triggersYAML, "eventing.knative.dev/v1", "eventing.knative.dev/v1beta1", 1),
			[]string{"t.yaml", "v1beta1", "not supported"}},
		{"new-filters", "t.yaml", strings.Replace(triggersYAML, "  filter:\n", "  filters: [{exact: {type: x}}]\n  filter:\n", 1),
			[]string{"t.yaml", "spec.filters"}},
		{"no-image", "s.yaml", strings.Replace(serviceYAML, "- image: ko://github.com/sjzamr/smartreg/functions/qr/cmd", "- name: x", 1),
			[]string{"s.yaml", "Service qr", "image"}},
		{"duplicate", "s.yaml", serviceYAML + "---\n" + serviceYAML, []string{"s.yaml", "document 2", "also declared in s.yaml"}},
		{"no-kind", "x.yaml", "apiVersion: v1\nmetadata: {name: x}\n", []string{"x.yaml", "kind"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{c.file: {Data: []byte(c.yaml)}})
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadDirNamesFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadDir(dir); err != nil {
		t.Fatalf("empty directory: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "triggers"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "triggers", "a.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(triggersYAML, "PT2M", "PT2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("error %v does not name %s", err, bad)
	}
}
