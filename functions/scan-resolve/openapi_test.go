package scanresolve

import (
	"net/http"
	"testing"

	"github.com/sjzamr/smartreg/events"
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
		Source: openapitest.SourceRoutes(t, "http.go"), Prefixes: []string{"/scan/v1/", "/q/"}, Sample: "AAAAAAAAAAAAAAAA",
		// The JSON twin of the page is the page's route with a ".json" suffix.
		Aliases: map[string]string{"GET /q/{token}.json": "GET /q/{token}"}})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

// TestOpenAPISchemasMatchStructs keeps the schemas' properties equal to
// the JSON fields of the Go types the handlers encode and decode.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"View": View{}, "EntityView": EntityView{}, "SectionView": SectionView{}, "RecordView": RecordView{},
		"ItemView": ItemView{}, "ListStatus": ListStatus{}, "RightsChannel": rightsChannel{},
		"InspectionItem": events.InspectionItem{}, "InspectionInput": InspectionInput{}, "Inspection": Inspection{}, "InspectionPage": InspectionPage{},
		"StatsResult": StatsResult{}, "StatRow": StatRow{}, "FieldError": errs.FieldError{}, "ErrorBody": httpx.ErrorBody{},
	})
}
