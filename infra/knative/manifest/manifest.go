// Package manifest reads SmartReg's Knative manifests (Broker, Triggers,
// PingSources, Services) into plain Go values, so that infra/local routes
// events with exactly the filters, retries, backoff and dead-letter sinks
// that production uses.
//
// It depends on sigs.k8s.io/yaml only, not on the Knative API packages:
// infra/local imports it, and the one-process platform must stay light.
// It models the subset of each resource that routing needs; the full
// validation against Knative's own types lives in the tests of package
// knative (the module root).
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// BrokerClassAnnotation names the Broker implementation.
const BrokerClassAnnotation = "eventing.knative.dev/broker.class"

// Backoff policies of a deliverySpec.
const (
	BackoffLinear      = "linear"
	BackoffExponential = "exponential"
)

// Delivery is a Knative deliverySpec: how often and how patiently a failed
// delivery is retried, and where the event goes when retries run out.
type Delivery struct {
	Retry          int           // retries after the first attempt
	BackoffPolicy  string        // BackoffLinear or BackoffExponential
	BackoffDelay   time.Duration // parsed from ISO-8601, e.g. PT0.5S
	DeadLetterSink *Destination  // nil: the event is dropped
}

// Backoff returns how long to wait before retry n (1 for the first retry),
// with Knative's formulas (eventing kncloudevents): exponential waits
// delay×2ⁿ, linear waits delay×n. An empty policy counts as exponential,
// the policy every SmartReg manifest uses.
func (d Delivery) Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if d.BackoffPolicy == BackoffLinear {
		return d.BackoffDelay * time.Duration(n)
	}
	wait := d.BackoffDelay
	for range n {
		if wait > math.MaxInt64/2 { // saturate rather than wrap negative
			return math.MaxInt64
		}
		wait *= 2
	}
	return wait
}

// Destination is a Knative duckv1.Destination: a reference to an
// addressable resource, a URI, or both (then URI is relative to the ref).
type Destination struct {
	RefKind, RefName, RefAPIVersion string
	URI                             string
	// Audience is the OIDC audience the sender's token is issued for
	// (Eventing's sender identity); the receiver checks it.
	Audience string
}

// IsRef reports whether the destination names a resource.
func (d Destination) IsRef() bool { return d.RefName != "" }

func (d Destination) String() string {
	s := ""
	if d.IsRef() {
		s = d.RefKind + "/" + d.RefName + " (" + d.RefAPIVersion + ")"
	}
	if d.URI != "" {
		if s != "" {
			s += " "
		}
		s += d.URI
	}
	return s
}

// Broker is an eventing.knative.dev/v1 Broker.
type Broker struct {
	Name, Namespace string
	Class           string   // from the broker.class annotation
	Delivery        Delivery // default for Triggers without their own
	File            string   // where it was declared, for messages
}

// Trigger is an eventing.knative.dev/v1 Trigger.
type Trigger struct {
	Name, Namespace string
	Broker          string
	Filter          map[string]string // exact attribute filters; "" accepts any value
	Subscriber      Destination
	// Delivery is the effective deliverySpec: the Trigger's own when it sets
	// one, otherwise its Broker's. As in Knative, a Trigger that sets any
	// delivery field replaces the Broker's block as a whole (fields are not
	// merged), so a Trigger with retries but no deadLetterSink drops events.
	Delivery Delivery
	File     string
}

// Matches reports whether an event with these context attributes passes
// the Trigger's filter: every filtered attribute must be present and equal.
// An empty filter matches every event. A filter value of "" matches any
// value of a present attribute, as Knative's attribute filter does.
func (t Trigger) Matches(attrs map[string]string) bool {
	for k, want := range t.Filter {
		got, ok := attrs[k]
		if !ok || (want != "" && got != want) {
			return false
		}
	}
	return true
}

// PingSource is a sources.knative.dev/v1 PingSource.
type PingSource struct {
	Name, Namespace string
	Schedule        string // 5-field cron
	Timezone        string // IANA name; "" means UTC
	ContentType     string
	Data            string
	Sink            Destination
	// Source is the CloudEvent source attribute Knative's PingSource sets on
	// what it emits; Triggers filter on it to pick one schedule.
	Source string
	File   string
}

// PingSourceSource is the CloudEvent source of a PingSource's events, as
// Knative's PingSource adapter writes it.
func PingSourceSource(namespace, name string) string {
	return "/apis/v1/namespaces/" + namespace + "/pingsources/" + name
}

// Service is a serving.knative.dev/v1 Service.
type Service struct {
	Name, Namespace string
	Image           string // first container's image (ko:// in our manifests)
	File            string
	// Raw is the whole document converted to JSON, for callers that decode
	// it into Knative's own type (the validation test does).
	Raw json.RawMessage
}

// Set is everything loaded from one tree of manifests.
type Set struct {
	Brokers     map[string]Broker // by name
	Services    []Service
	Triggers    []Trigger
	PingSources []PingSource
}

// Service returns the Service called name.
func (s *Set) Service(name string) (Service, bool) {
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc, true
		}
	}
	return Service{}, false
}

// Matching returns the Triggers on broker whose filter accepts an event with
// these attributes, in load order. Each match is one delivery.
func (s *Set) Matching(broker string, attrs map[string]string) []Trigger {
	var out []Trigger
	for _, t := range s.Triggers {
		if t.Broker == broker && t.Matches(attrs) {
			out = append(out, t)
		}
	}
	return out
}

// LoadDir loads the manifests under dir; file names in errors include dir.
func LoadDir(dir string) (*Set, error) {
	return load(os.DirFS(dir), dir)
}

// Load reads every *.yaml and *.yml file in fsys (directories named
// testdata or starting with "." or "_" are skipped, as the go tool does).
// A file may hold several documents separated by "---". Documents are
// dispatched on apiVersion and kind; kinds this package does not model
// (ConfigMap, …) are skipped. Errors name the file and the document.
func Load(fsys fs.FS) (*Set, error) {
	return load(fsys, "")
}

func load(fsys fs.FS, prefix string) (*Set, error) {
	l := &loader{
		set:         &Set{Brokers: map[string]Broker{}},
		ownDelivery: map[int]bool{},
		seen:        map[string]string{},
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			base := d.Name()
			if p != "." && (base == "testdata" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := p
		if prefix != "" {
			name = filepath.Join(prefix, filepath.FromSlash(p))
		}
		return l.file(name, b)
	})
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	// Effective delivery needs every Broker, wherever it was declared.
	for i := range l.set.Triggers {
		if !l.ownDelivery[i] {
			l.set.Triggers[i].Delivery = l.set.Brokers[l.set.Triggers[i].Broker].Delivery
		}
	}
	return l.set, nil
}

type loader struct {
	set         *Set
	ownDelivery map[int]bool      // trigger index → set its own delivery
	seen        map[string]string // kind/namespace/name → file, to refuse duplicates
}

// file splits one file into documents and loads each.
func (l *loader) file(name string, b []byte) error {
	for i, doc := range splitDocuments(b) {
		if err := l.document(name, doc); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
	}
	return nil
}

// splitDocuments cuts a YAML stream at "---" lines and drops documents that
// hold only comments or blank lines.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	hasContent := false
	flush := func() {
		if hasContent {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		} else {
			// Keep numbering stable for messages: an empty document still
			// counts, so "document 2" is the second one a reader sees.
			docs = append(docs, nil)
		}
		cur.Reset()
		hasContent = false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if isSeparator(line) {
			flush()
			continue
		}
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			hasContent = true
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	// A leading "---" produces an empty first document; drop empties at the
	// edges only, so inner numbering stays what the reader counts.
	for len(docs) > 0 && docs[0] == nil {
		docs = docs[1:]
	}
	for len(docs) > 0 && docs[len(docs)-1] == nil {
		docs = docs[:len(docs)-1]
	}
	return docs
}

func isSeparator(line string) bool {
	rest, ok := strings.CutPrefix(line, "---")
	if !ok {
		return false
	}
	rest = strings.TrimSpace(rest)
	return rest == "" || strings.HasPrefix(rest, "#")
}

// Only the fields routing needs are declared; the rest of each document is
// ignored here and checked against Knative's types by the tests.
type (
	header struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name        string            `json:"name"`
			Namespace   string            `json:"namespace"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	kref struct {
		Kind       string `json:"kind"`
		Name       string `json:"name"`
		APIVersion string `json:"apiVersion"`
	}
	destination struct {
		Ref      *kref  `json:"ref"`
		URI      string `json:"uri"`
		Audience string `json:"audience"`
	}
	deliverySpec struct {
		Retry          *int         `json:"retry"`
		BackoffPolicy  *string      `json:"backoffPolicy"`
		BackoffDelay   *string      `json:"backoffDelay"`
		DeadLetterSink *destination `json:"deadLetterSink"`
	}
	brokerDoc struct {
		Spec struct {
			Delivery *deliverySpec `json:"delivery"`
		} `json:"spec"`
	}
	triggerDoc struct {
		Spec struct {
			Broker string `json:"broker"`
			Filter *struct {
				Attributes map[string]string `json:"attributes"`
			} `json:"filter"`
			Filters    json.RawMessage `json:"filters"`
			Subscriber *destination    `json:"subscriber"`
			Delivery   *deliverySpec   `json:"delivery"`
		} `json:"spec"`
	}
	pingSourceDoc struct {
		Spec struct {
			Schedule    string       `json:"schedule"`
			Timezone    string       `json:"timezone"`
			ContentType string       `json:"contentType"`
			Data        string       `json:"data"`
			DataBase64  string       `json:"dataBase64"`
			Sink        *destination `json:"sink"`
		} `json:"spec"`
	}
	serviceDoc struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Image string `json:"image"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
)

// The API groups and versions modelled; a known group and kind at another
// version is an error rather than skipped, so a Trigger is never silently
// lost from local routing.
var kinds = map[string]string{
	"eventing.knative.dev/Broker":    "v1",
	"eventing.knative.dev/Trigger":   "v1",
	"sources.knative.dev/PingSource": "v1",
	"serving.knative.dev/Service":    "v1",
}

func (l *loader) document(file string, doc []byte) error {
	if doc == nil {
		return nil
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("parse YAML: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil
	}
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if h.APIVersion == "" || h.Kind == "" {
		return errors.New("apiVersion and kind are required")
	}
	group, version, ok := strings.Cut(h.APIVersion, "/")
	if !ok {
		group, version = "", h.APIVersion // core group: "v1"
	}
	want, known := kinds[group+"/"+h.Kind]
	if !known {
		return nil
	}
	if version != want {
		return fmt.Errorf("%s %s: apiVersion %s is not supported, use %s/%s", h.Kind, h.Metadata.Name, h.APIVersion, group, want)
	}
	if h.Metadata.Name == "" {
		return fmt.Errorf("%s: metadata.name is required", h.Kind)
	}
	ns := h.Metadata.Namespace
	if ns == "" {
		ns = "default" // what kubectl apply would use without -n
	}
	key := h.Kind + "/" + ns + "/" + h.Metadata.Name
	if prev, dup := l.seen[key]; dup {
		return fmt.Errorf("%s %s/%s is also declared in %s", h.Kind, ns, h.Metadata.Name, prev)
	}
	l.seen[key] = file

	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%s %s: %w", h.Kind, h.Metadata.Name, err)
	}
	switch h.Kind {
	case "Broker":
		return wrap(l.broker(file, h, ns, js))
	case "Trigger":
		return wrap(l.trigger(file, h, ns, js))
	case "PingSource":
		return wrap(l.pingSource(file, h, ns, js))
	case "Service":
		return wrap(l.service(file, h, ns, js))
	}
	return nil
}

func (l *loader) broker(file string, h header, ns string, js []byte) error {
	var d brokerDoc
	if err := json.Unmarshal(js, &d); err != nil {
		return err
	}
	b := Broker{Name: h.Metadata.Name, Namespace: ns, Class: h.Metadata.Annotations[BrokerClassAnnotation], File: file}
	if d.Spec.Delivery != nil {
		del, err := parseDelivery(*d.Spec.Delivery)
		if err != nil {
			return fmt.Errorf("spec.delivery.%w", err)
		}
		b.Delivery = del
	}
	l.set.Brokers[b.Name] = b
	return nil
}

func (l *loader) trigger(file string, h header, ns string, js []byte) error {
	var d triggerDoc
	if err := json.Unmarshal(js, &d); err != nil {
		return err
	}
	s := d.Spec
	if s.Broker == "" {
		return errors.New("spec.broker is required")
	}
	if len(s.Filters) > 0 && string(s.Filters) != "null" {
		// The CESQL-style "filters" (a Knative feature flag) would need an
		// expression engine locally; refuse it rather than route wrongly.
		return errors.New("spec.filters is not supported; use spec.filter.attributes")
	}
	if s.Subscriber == nil {
		return errors.New("spec.subscriber is required")
	}
	sub, err := parseDestination(*s.Subscriber)
	if err != nil {
		return fmt.Errorf("spec.subscriber: %w", err)
	}
	t := Trigger{Name: h.Metadata.Name, Namespace: ns, Broker: s.Broker, Subscriber: sub, File: file, Filter: map[string]string{}}
	if s.Filter != nil {
		for k, v := range s.Filter.Attributes {
			t.Filter[k] = v
		}
	}
	if s.Delivery != nil {
		del, err := parseDelivery(*s.Delivery)
		if err != nil {
			return fmt.Errorf("spec.delivery.%w", err)
		}
		t.Delivery = del
		l.ownDelivery[len(l.set.Triggers)] = true
	}
	l.set.Triggers = append(l.set.Triggers, t)
	return nil
}

func (l *loader) pingSource(file string, h header, ns string, js []byte) error {
	var d pingSourceDoc
	if err := json.Unmarshal(js, &d); err != nil {
		return err
	}
	s := d.Spec
	if s.Schedule == "" {
		return errors.New("spec.schedule is required")
	}
	if s.DataBase64 != "" {
		return errors.New("spec.dataBase64 is not supported; use spec.data")
	}
	if s.Sink == nil {
		return errors.New("spec.sink is required")
	}
	sink, err := parseDestination(*s.Sink)
	if err != nil {
		return fmt.Errorf("spec.sink: %w", err)
	}
	l.set.PingSources = append(l.set.PingSources, PingSource{
		Name: h.Metadata.Name, Namespace: ns,
		Schedule: s.Schedule, Timezone: s.Timezone, ContentType: s.ContentType, Data: s.Data,
		Sink: sink, Source: PingSourceSource(ns, h.Metadata.Name), File: file,
	})
	return nil
}

func (l *loader) service(file string, h header, ns string, js []byte) error {
	var d serviceDoc
	if err := json.Unmarshal(js, &d); err != nil {
		return err
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) == 0 || cs[0].Image == "" {
		return errors.New("spec.template.spec.containers[0].image is required")
	}
	l.set.Services = append(l.set.Services, Service{
		Name: h.Metadata.Name, Namespace: ns, Image: cs[0].Image, File: file, Raw: json.RawMessage(js),
	})
	return nil
}

// parseDelivery converts a deliverySpec. Its errors start with the field
// name so callers can prefix "spec.delivery.".
func parseDelivery(s deliverySpec) (Delivery, error) {
	var d Delivery
	if s.Retry != nil {
		if *s.Retry < 0 {
			return d, fmt.Errorf("retry: %d is negative", *s.Retry)
		}
		d.Retry = *s.Retry
	}
	if s.BackoffPolicy != nil {
		switch p := *s.BackoffPolicy; p {
		case BackoffLinear, BackoffExponential:
			d.BackoffPolicy = p
		default:
			return d, fmt.Errorf("backoffPolicy: %q is not linear or exponential", p)
		}
	}
	if s.BackoffDelay != nil {
		delay, err := ParseDuration(*s.BackoffDelay)
		if err != nil {
			return d, fmt.Errorf("backoffDelay: %w", err)
		}
		d.BackoffDelay = delay
	}
	if s.DeadLetterSink != nil {
		dls, err := parseDestination(*s.DeadLetterSink)
		if err != nil {
			return d, fmt.Errorf("deadLetterSink: %w", err)
		}
		d.DeadLetterSink = &dls
	}
	return d, nil
}

// parseDestination applies duckv1.Destination's rules: a ref, an absolute
// URI, or a ref with a URI relative to it.
func parseDestination(s destination) (Destination, error) {
	d := Destination{Audience: s.Audience}
	if s.Ref == nil && s.URI == "" {
		return d, errors.New("needs ref or uri")
	}
	if s.Ref != nil {
		if s.Ref.Kind == "" || s.Ref.Name == "" || s.Ref.APIVersion == "" {
			return d, errors.New("ref needs kind, name and apiVersion")
		}
		d.RefKind, d.RefName, d.RefAPIVersion = s.Ref.Kind, s.Ref.Name, s.Ref.APIVersion
	}
	if s.URI != "" {
		u, err := url.Parse(s.URI)
		if err != nil {
			return d, fmt.Errorf("uri: %w", err)
		}
		if s.Ref == nil && !u.IsAbs() {
			return d, fmt.Errorf("uri %q must be absolute when there is no ref", s.URI)
		}
		if s.Ref != nil && u.IsAbs() {
			return d, fmt.Errorf("uri %q must be relative to the ref", s.URI)
		}
		d.URI = s.URI
	}
	return d, nil
}
