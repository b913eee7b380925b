package platform

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// TestGatewayExposesEveryRouteAndNoReceiver: in production the Services
// are cluster-local and the public reaches them only through the Gateway
// API route. Every function's public and signed-in routes must be behind
// one of its prefixes, sent to that function, and no prefix may reach a
// function's root, where the event receiver listens.
func TestGatewayExposesEveryRouteAndNoReceiver(t *testing.T) {
	b, err := os.ReadFile("../../knative/gateway/public-routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var route struct {
		Spec struct {
			Rules []struct {
				Matches []struct {
					Path struct{ Type, Value string } `json:"path"`
				} `json:"matches"`
				Filters []struct {
					URLRewrite struct {
						Hostname string `json:"hostname"`
					} `json:"urlRewrite"`
				} `json:"filters"`
			} `json:"rules"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(strings.Split(string(b), "\n---\n")[0]), &route); err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]string{} // path prefix → function
	for _, r := range route.Spec.Rules {
		host := ""
		for _, f := range r.Filters {
			host = strings.TrimSuffix(f.URLRewrite.Hostname, ".smartreg.svc.cluster.local")
		}
		for _, m := range r.Matches {
			if m.Path.Type == "Exact" && m.Path.Value == "/favicon.ico" {
				prefixes[m.Path.Value] = host // the one root file browsers ask for
				continue
			}
			if m.Path.Value == "/" || m.Path.Value == "" || m.Path.Type != "PathPrefix" || !strings.HasSuffix(m.Path.Value, "/") || strings.Count(m.Path.Value, "/") < 2 {
				t.Errorf("gateway rule %q %q could reach a function's root", m.Path.Type, m.Path.Value)
			}
			prefixes[m.Path.Value] = host
		}
	}
	cfg := defaults(t)
	cfg.DatabaseURL, cfg.BlobURL, cfg.DBMaxConns = storetest.URLFor(storetest.NewDatabase(t)), "file:"+t.TempDir(), 5
	cfg.Identity.DataDir = t.TempDir()
	p, err := Build(context.Background(), cfg, httpx.NewLogger(io.Discard, "error"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, f := range p.Functions {
		l, ok := f.Fn.Handler().(httpx.RouteLister)
		if !ok {
			continue // the anatomy test names functions without a route list
		}
		for _, rt := range l.Routes() {
			path := rt.Path()
			covered := false
			for pre, host := range prefixes {
				if strings.HasPrefix(path, pre) && (strings.HasSuffix(pre, "/") || path == pre) || path+"/" == pre {
					covered = true
					if host != f.Name {
						t.Errorf("%s of %s is routed to %s", rt.Pattern, f.Name, host)
					}
				}
			}
			if !covered {
				t.Errorf("%s of %s is not reachable through the gateway", rt.Pattern, f.Name)
			}
		}
	}
}
