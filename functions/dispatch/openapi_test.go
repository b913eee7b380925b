package dispatch

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/dispatch/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Alarm": Alarm{}, "AlarmPage": httpx.PageOf[Alarm]{}, "Event": Event{}, "EventPage": httpx.PageOf[Event]{}, "Task": Task{}, "TaskPage": httpx.PageOf[Task]{}, "Position": Position{}, "EventInput": EventInput{}, "TaskInput": TaskInput{}, "TaskActionInput": TaskActionInput{}, "PositionsInput": PositionsInput{}, "Timeline": Timeline{}, "Resource": Resource{}, "UpdateInput": UpdateInput{}, "EventUpdate": EventUpdate{}, "ResourceInput": ResourceInput{}, "CloseInput": CloseInput{}, "GroupInput": GroupInput{}, "AcceptInput": AcceptInput{}, "ErrorBody": httpx.ErrorBody{},
	})
}
