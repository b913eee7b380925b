package laws

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/laws/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Article": Article{}, "Event": Event{}, "VersionRef": VersionRef{}, "Document": Document{}, "DocumentInput": DocumentInput{},
		"LinkInput": LinkInput{}, "Facet": Facet{}, "DocumentPage": DocumentPage{}, "Hit": Hit{}, "LawRef": LawRef{},
		"ParsedQuery": parsedQuery{}, "SearchResult": SearchResult{}, "Skip": Skip{}, "ImportRun": ImportRun{},
		"ImportPage": httpx.PageOf[ImportRun]{}, "ErrorBody": httpx.ErrorBody{},
	})
}
