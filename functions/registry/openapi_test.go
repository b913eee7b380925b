package registry

import (
	"net/http"
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	mux, ok := (&Function{}).routes().(*http.ServeMux)
	if !ok {
		t.Fatal("routes() no longer returns an *http.ServeMux; adapt this test")
	}
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Mux: mux,
		Source: openapitest.SourceRoutes(t, "http.go"), Prefixes: []string{"/" + Name + "/v1/"}, Sample: "91130102MA0A1B2C2T"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

// TestOpenAPISchemasMatchStructs keeps the schemas' properties equal to
// the JSON fields of the Go types the handlers encode and decode.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Entity": Entity{}, "EntityInput": EntityInput{}, "Record": Record{}, "RecordInput": RecordInput{},
		"Profile": Profile{}, "Section": Section{}, "SearchResult": SearchResult{}, "ImportResult": ImportResult{},
		"StatRow": StatRow{}, "FieldError": errs.FieldError{}, "ErrorBody": httpx.ErrorBody{},
	})
}
