package monitor

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/monitor/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Model": Model{}, "ModelInput": ModelInput{}, "ModelPage": httpx.PageOf[Model]{}, "Clue": Clue{}, "CluePage": httpx.PageOf[Clue]{},
		"ReviewInput": ReviewInput{}, "RunResult": RunResult{}, "RuleStat": RuleStat{}, "ErrorBody": httpx.ErrorBody{},
	})
}
