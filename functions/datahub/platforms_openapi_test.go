package datahub

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

// FP-115, FP-116, FP-117, FP-126: the third-party and exchange schemas match their structs.
func TestOpenAPIPlatformSchemas(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"Platform": Platform{}, "PlatformInput": PlatformInput{}, "PlatformPage": httpx.PageOf[Platform]{},
		"AuthParams": AuthParams{}, "Mapping": Mapping{}, "PlatformIfaceInput": PlatformIfaceInput{}, "PlatformIface": PlatformIface{},
		"PlatformIfacePage": httpx.PageOf[PlatformIface]{}, "RunResult": RunResult{}, "PlatformLog": PlatformLog{},
		"PlatformLogPage": httpx.PageOf[PlatformLog]{},
		// FP-126
		"Partner": Partner{}, "PartnerInput": PartnerInput{}, "PullResult": PullResult{}, "ExchangeLog": ExchangeLog{},
		"ExchangeLogPage": httpx.PageOf[ExchangeLog]{},
	})
}
