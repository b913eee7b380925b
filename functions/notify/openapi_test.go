package notify

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	f := newEnv(t).replica(nil)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: f,
		Prefixes: []string{"/" + Name + "/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Notice": Notice{}, "PublishRequest": PublishRequest{}, "UnreadCount": UnreadCount{}, "Marked": Marked{}, "Accepted": Accepted{},
		"Warning": Warning{}, "WarningAction": WarningAction{}, "HandleRequest": HandleRequest{}, "Sources": Sources{},
		"Page": httpx.PageOf[int]{}, "FieldError": errs.FieldError{}, "ErrorBody": httpx.ErrorBody{},
	})
}
