package policymatch

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/policy/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Policy": Policy{}, "PolicyInput": PolicyInput{}, "Condition": Condition{}, "Label": Label{}, "Override": Override{},
		"PolicyPage": httpx.PageOf[Policy]{}, "Count": Count{}, "Thresholds": Thresholds{}, "Meta": Meta{},
		"OverrideInput": OverrideInput{}, "StatusInput": StatusInput{}, "DraftInput": DraftInput{}, "Draft": Draft{},
		"URLsInput": URLsInput{}, "ImportResult": ImportResult{}, "ImportReport": ImportReport{},
		"MatchedEntity": MatchedEntity{}, "PolicyEntities": PolicyEntities{}, "Check": Check{}, "PolicyMatch": PolicyMatch{},
		"Subject": Subject{}, "IndustryGuess": IndustryGuess{}, "Profile": Profile{}, "EntityMatches": EntityMatches{},
		"BindInput": BindInput{}, "Account": Account{}, "AccountPage": httpx.PageOf[Account]{}, "ErrorBody": httpx.ErrorBody{},
	})
}
