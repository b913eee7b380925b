package qrgenerate

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	f := newEnv(t).f // the documented probes answer: /readyz pings the database
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: f,
		Prefixes: []string{"/qr/v1/"}, Sample: "AbCdEfGh12345678"})
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
