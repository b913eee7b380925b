package audit_test

import (
	"net/http"
	"testing"

	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/functions/identity/notify"
	"github.com/sjzamr/smartreg/functions/identity/online"
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
	(&online.Service{}).Routes(mux, guard)
	var source []string
	for _, f := range []string{"service.go", "../notify/http.go", "../online/online.go"} {
		source = append(source, openapitest.SourceRoutes(t, f)...)
	}
	openapitest.CheckRoutes(t, openapitest.Load(t, audit.OpenAPI()), openapitest.Routes{Name: "identity", Mux: mux,
		Source: source, Prefixes: []string{"/identity/"}, Sample: "x1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, audit.OpenAPI()) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, audit.OpenAPI()), map[string]any{
		"LoginRow": audit.LoginRow{}, "OpRow": audit.OpRow{}, "Alert": audit.Alert{}, "Archive": audit.Archive{},
		"Notice": notify.Notice{}, "PublishRequest": notify.PublishRequest{}, "Session": online.Session{},
	})
}
