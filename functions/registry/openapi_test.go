package registry

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	f, _ := newFunction(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: f,
		Prefixes: []string{"/" + Name + "/v1/"}, Sample: "91130102MA0A1B2C2T"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

// TestOpenAPISchemasMatchStructs keeps the schemas' properties equal to
// the JSON fields of the Go types the handlers encode and decode.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Entity": Entity{}, "EntityInput": EntityInput{}, "Record": Record{}, "RecordInput": RecordInput{},
		"Profile": Profile{}, "Section": Section{}, "SearchResult": SearchResult{}, "ImportResult": ImportResult{},
		"StatRow": StatRow{}, "Stats": StatsResult{}, "FieldError": errs.FieldError{}, "ErrorBody": httpx.ErrorBody{},
	})
}
