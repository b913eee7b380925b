package dashboard

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/dashboard/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Condition": Condition{}, "CategoryInput": CategoryInput{}, "Category": Category{}, "IndicatorInput": IndicatorInput{},
		"Indicator": Indicator{}, "Board": Board{}, "CountyCount": CountyCount{}, "Counties": Counties{}, "RosterRow": RosterRow{},
		"ErrorBody": httpx.ErrorBody{},
	})
}
