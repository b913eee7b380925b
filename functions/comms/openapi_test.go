package comms

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Fn: h.f,
		Prefixes: []string{"/comms/v1/"}, Sample: "1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"OpenInput": OpenInput{}, "InviteInput": InviteInput{}, "Invitee": Invitee{}, "Member": Member{}, "Consult": Consult{},
		"Participant": Participant{}, "TrackState": TrackState{}, "Grants": Grants{}, "TokenReply": TokenReply{},
		"TargetInput": TargetInput{}, "SayInput": SayInput{}, "Message": Message{}, "ErrorBody": httpx.ErrorBody{},
		"SwitchInput": SwitchInput{}, "Recording": Recording{}, "Node": Node{}, "NoticeInput": NoticeInput{}, "Delivery": Delivery{},
		"Notice": Notice{}, "CameraInput": CameraInput{}, "Camera": Camera{}, "ClipInput": ClipInput{}, "CameraMedia": CameraMedia{},
	})
}
