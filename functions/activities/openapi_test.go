package activities

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/activities/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Material": Material{}, "Photo": Photo{}, "Activity": Activity{}, "ActivityInput": ActivityInput{},
		"ActivityPage": httpx.PageOf[Activity]{}, "Signup": Signup{}, "SignupInput": SignupInput{}, "SignupPage": httpx.PageOf[Signup]{},
		"SummaryInput": SummaryInput{}, "ImportInput": ImportInput{}, "Extracted": Extracted{}, "ImportResult": ImportResult{},
		"PublicActivity": PublicActivity{}, "PublicActivityPage": httpx.PageOf[PublicActivity]{}, "MySignup": MySignup{},
		"ErrorBody": httpx.ErrorBody{},
	})
}
