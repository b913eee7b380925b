package scanresolve

import (
	"testing"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: f,
		Prefixes: []string{"/scan/v1/", "/q/"}, Sample: "AAAAAAAAAAAAAAAA",
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
