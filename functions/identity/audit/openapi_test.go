package audit_test

import (
	"net/http"
	"testing"

	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/functions/identity/notify"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

// One document covers the three sub-packages' routes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	mux := http.NewServeMux()
	guard := func(string, string) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler { return h }
	}
	(&audit.Service{}).Routes(mux, guard)
	(&notify.Service{}).Routes(mux, guard)
	var source []string
	for _, f := range []string{"service.go", "../notify/http.go"} {
		source = append(source, openapitest.SourceRoutes(t, f)...)
	}
	// The online list's routes are on an httpx.Mux, which lists them.
	om := httpx.NewMux()
	(&online.Service{}).Routes(om)
	for _, rt := range om.Routes() {
		source = append(source, rt.Pattern)
	}
	openapitest.CheckRoutes(t, openapitest.Load(t, audit.OpenAPI()), openapitest.Routes{Name: "identity", Mux: either{om, mux},
		Source: source, Prefixes: []string{"/identity/"}, Sample: "x1"})
}

// either routes to the first mux that has the request's pattern.
type either struct {
	a, b interface {
		http.Handler
		Handler(*http.Request) (http.Handler, string)
	}
}

func (e either) Handler(r *http.Request) (http.Handler, string) {
	if h, p := e.a.Handler(r); p != "" {
		return h, p
	}
	return e.b.Handler(r)
}

func (e either) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, _ := e.Handler(r)
	h.ServeHTTP(w, r)
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, audit.OpenAPI()) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, audit.OpenAPI()), map[string]any{
		"LoginRow": audit.LoginRow{}, "OpRow": audit.OpRow{}, "Alert": audit.Alert{}, "Archive": audit.Archive{},
		"Notice": notify.Notice{}, "PublishRequest": notify.PublishRequest{}, "Session": online.Session{},
	})
}
