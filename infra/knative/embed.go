// Package knative holds SmartReg's production wiring: the Knative Broker,
// Services, Triggers and PingSources as YAML, applied with ko and kubectl.
//
// The same files are embedded here so that infra/local routes events with
// the exact filters and delivery settings of production without reading
// files at run time. This package must not import Knative: infra/local
// imports it, and only the tests (which validate the manifests against
// Knative's own types) may pull Knative in.
package knative

import (
	"embed"

	"github.com/sjzamr/smartreg/infra/knative/manifest"
)

// Manifests is every manifest of the production wiring. A test checks that
// the pattern below covers every YAML file in this directory, so a new
// folder cannot be deployed but forgotten locally.
//
//go:embed broker.yaml functions triggers pingsources dead-letter.yaml
var Manifests embed.FS

// Load parses the embedded manifests.
func Load() (*manifest.Set, error) {
	return manifest.Load(Manifests)
}
