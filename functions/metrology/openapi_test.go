package metrology

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/metrology/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Hints": Hints{}, "VisitInput": VisitInput{}, "Category": Category{}, "Item": Item{},
		"Enterprise": Enterprise{}, "EnterpriseInput": EnterpriseInput{}, "EnterprisePage": httpx.PageOf[Enterprise]{},
		"Location": Location{}, "LocationInput": LocationInput{}, "RegistryEntity": RegistryEntity{},
		"Instrument": Instrument{}, "InstrumentInput": InstrumentInput{}, "InstrumentPage": httpx.PageOf[Instrument]{},
		"Change": Change{}, "InstrumentDetail": InstrumentDetail{}, "StatusInput": StatusInput{}, "InstrumentOwner": InstrumentOwner{},
		"Institution": Institution{}, "InstitutionInput": InstitutionInput{}, "Standard": Standard{}, "StandardInput": StandardInput{},
		"Application": Application{}, "ApplicationItem": ApplicationItem{}, "ApplicationInput": ApplicationInput{},
		"ApplicationPage": httpx.PageOf[Application]{}, "ApprovalInput": ApprovalInput{}, "DecisionInput": DecisionInput{},
		"ReviewInput": ReviewInput{}, "ResultInput": ResultInput{}, "Verification": Verification{},
		"VerificationPage": httpx.PageOf[Verification]{}, "HistoryEntry": HistoryEntry{}, "PlanRef": PlanRef{}, "PlanTarget": PlanTarget{},
		"Plan": Plan{}, "PlanInput": PlanInput{}, "PlanPage": httpx.PageOf[Plan]{}, "PhotoKey": PhotoKey{}, "FieldRecord": FieldRecord{},
		"FieldRecordInput": FieldRecordInput{}, "FieldRecordPage": httpx.PageOf[FieldRecord]{}, "Alarm": Alarm{},
		"AlarmPage": httpx.PageOf[Alarm]{}, "AlarmStat": AlarmStat{}, "AlarmStats": AlarmStats{}, "OpenInput": OpenInput{},
		"OpenedAlarms": OpenedAlarms{}, "Penalty": Penalty{}, "PenaltyInput": PenaltyInput{}, "PenaltyPage": httpx.PageOf[Penalty]{},
		"CountyRatio": CountyRatio{}, "WeekCount": WeekCount{}, "Statistics": Statistics{}, "Mine": Mine{},
		"ErrorBody": httpx.ErrorBody{},
	})
}
