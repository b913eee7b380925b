package datahub

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/datahub/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Dataset": Dataset{}, "Field": Field{}, "InterfaceInput": InterfaceInput{}, "Interface": Interface{},
		"AccessEntry": AccessEntry{}, "PushInput": PushInput{}, "PushJob": PushJob{}, "PushRun": PushRun{}, "AccessPage": httpx.PageOf[AccessEntry]{}, "ErrorBody": httpx.ErrorBody{},
		"QualityRuleInput": RuleInput{}, "QualityRule": Rule{}, "QualityRuleParams": RuleParams{}, "QualityRun": QualityRun{}, "QualityScore": Score{},
		"QualityIssue": Issue{}, "IssueEvent": IssueEvent{}, "QualityIssuePage": httpx.PageOf[Issue]{}, "HandleInput": HandleInput{},
		"LineageNode": LineageNode{}, "LineageLink": LineageLink{}, "Lineage": Lineage{}, "LineageNodeInput": LineageNodeInput{}, "LineageFlowInput": LineageFlowInput{},
		"Cond": Cond{}, "Aggregate": Aggregate{}, "SearchOrder": SearchOrder{}, "SearchSpec": SearchSpec{}, "Variable": Variable{},
		"Column": Column{}, "CheckResult": CheckResult{}, "SearchResult": SearchResult{}, "FormulaInput": FormulaInput{},
		"FormulaRun": FormulaRun{}, "Formula": Formula{},
		"LegalPerson": LegalPerson{}, "LegalPersonPage": Phase1Page[LegalPerson]{}, "Licence": Licence{}, "LicencePage": Phase1Page[Licence]{},
	})
}
