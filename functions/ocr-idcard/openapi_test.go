package ocridcard

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/ocr/v1/"}, Sample: "0190b6a4-1f2e-7c3d-8e4f-5a6b7c8d9e0f"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Recognition": Recognition{}, "Confirmation": Confirmation{}, "NumberView": NumberView{},
		"Verification": Verification{}, "VerifyInput": VerifyInput{},
		"LicenceReading": LicenceReading{}, "Match": Match{}, "Matches": Matches{}, "ErrorBody": httpx.ErrorBody{},
	})
}
