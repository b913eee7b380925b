package audit

import (
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now, nil)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: e.f,
		Prefixes: []string{"/" + Name + "/v1/"}, Sample: "x"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

// TestOpenAPISchemasMatchStructs keeps the schemas' properties equal to
// the JSON fields of the Go types the handlers encode.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	t.Parallel()
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"LoginRow": LoginRow{}, "OpRow": OpRow{}, "Alert": Alert{}, "Archive": Archive{},
		"Page": httpx.PageOf[int]{}, "FieldError": errs.FieldError{}, "ErrorBody": httpx.ErrorBody{},
	})
}
