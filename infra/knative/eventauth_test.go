package knative

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sjzamr/smartreg/infra/knative/manifest"
)

// Event delivery is authenticated in production (issue 10): each Trigger
// names its subscriber's audience, which the function's receiver checks
// (shared/runtime.NewOIDC defaults it to smartreg-<function>), and every
// dead-letter sink the same.
func TestEveryDeliveryNamesItsReceiversAudience(t *testing.T) {
	set := load(t)
	check := func(where string, d *manifest.Destination) {
		if d == nil || !d.IsRef() || d.RefKind != "Service" {
			return
		}
		if want := "smartreg-" + d.RefName; d.Audience != want {
			t.Errorf("%s: delivery to %s has audience %q, want %q (the receiver refuses any other)", where, d.RefName, d.Audience, want)
		}
	}
	for _, tr := range set.Triggers {
		sub := tr.Subscriber
		check(tr.File+" subscriber", &sub)
		check(tr.File+" deadLetterSink", tr.Delivery.DeadLetterSink)
	}
	for _, b := range set.Brokers {
		check(b.File+" deadLetterSink", b.Delivery.DeadLetterSink)
	}
}

// No Service is reachable from outside the cluster but through the
// gateway's routes, so no outsider reaches an event receiver.
func TestServicesAreClusterLocal(t *testing.T) {
	for _, s := range load(t).Services {
		var doc struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(s.Raw, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Metadata.Labels["networking.knative.dev/visibility"] != "cluster-local" {
			t.Errorf("%s: Service %s is not cluster-local", s.File, s.Name)
		}
	}
}

// Sender identity is switched on, and only this namespace's senders may
// publish to the Broker.
func TestOIDCIsEnabledAndTheBrokerTakesOnlyOurSenders(t *testing.T) {
	b, err := os.ReadFile("eventing/config-features.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var features, policy map[string]any
	docs := strings.Split(string(b), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("eventing/config-features.yaml: %d documents, want the ConfigMap and the EventPolicy", len(docs))
	}
	if err := yaml.Unmarshal([]byte(docs[0]), &features); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &policy); err != nil {
		t.Fatal(err)
	}
	if d, _ := features["data"].(map[string]any); d["authentication-oidc"] != "enabled" {
		t.Errorf("authentication-oidc is %v", d["authentication-oidc"])
	}
	js, _ := json.Marshal(policy)
	if !strings.Contains(string(js), `"kind":"Broker","name":"default"`) || !strings.Contains(string(js), `"sub":"system:serviceaccount:smartreg:*"`) {
		t.Errorf("EventPolicy does not confine the Broker to smartreg's service accounts: %s", js)
	}
}
