package documents

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/docs/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

// TestOpenAPISchemasMatchStructs keeps the schemas' properties equal to
// the JSON fields of the Go types the handlers encode and decode.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Template": Template{}, "TemplateInput": TemplateInput{}, "TemplateVersion": TemplateVersion{}, "Field": Field{},
		"Diff": Diff{}, "FieldDiff": FieldDiff{}, "LineDiff": LineDiff{}, "PreviewInput": PreviewInput{}, "Preview": Preview{},
		"Rendered": Rendered{}, "Block": Block{}, "PrefillResult": PrefillResult{}, "Entity": Entity{}, "RepairRecord": RepairRecord{},
		"Document": Document{}, "DocumentPage": httpx.PageOf[Document]{}, "Detail": Detail{}, "UpdateInput": UpdateInput{},
		"CreateInput": CreateInput{}, "DocumentVersion": DocumentVersion{}, "VersionView": VersionView{}, "History": History{},
		"HistoryEvent": HistoryEvent{}, "ReviewInput": ReviewInput{}, "CorrectInput": CorrectInput{}, "Grant": Grant{},
		"GrantInput": GrantInput{}, "LinkInput": LinkInput{}, "Link": Link{}, "Verification": Verification{},
		"CheckResult": CheckResult{}, "BackupRun": BackupRun{}, "RestoreInput": RestoreInput{},
		"FieldError": errs.FieldError{}, "ErrorBody": httpx.ErrorBody{},
	})
}
