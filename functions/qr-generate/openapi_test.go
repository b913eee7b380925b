package qrgenerate

import (
	"net/http"
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	mux, ok := any((&Function{}).mux()).(*http.ServeMux)
	if !ok {
		t.Fatal("mux() no longer returns an *http.ServeMux; adapt this test")
	}
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Mux: mux,
		Source: openapitest.SourceRoutes(t, "http.go"), Prefixes: []string{"/qr/v1/"}, Sample: "AbCdEfGh12345678"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

// TestOpenAPISchemasMatchStructs keeps the schemas' properties equal to
// the JSON fields of the Go types the handlers encode and decode.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Code": Code{}, "CodePage": CodePage{}, "ReasonInput": ReasonInput{}, "Selection": Selection{}, "BatchJob": BatchJob{},
		"BatchJobPage": BatchJobPage{},
		"ZipRequest":   ZipRequest{}, "SweepResult": SweepResult{}, "OpLogEntry": OpLogEntry{}, "OpLogPage": OpLogPage{},
		"StatRow": StatRow{}, "StatsResult": StatsResult{}, "DownloadStat": DownloadStat{}, "DownloadStatsResult": DownloadStatsResult{},
		"FieldError": errs.FieldError{}, "ErrorBody": httpx.ErrorBody{},
	})
}
