package qrgenerate

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reaches an entity outside the
// caller's data scope (FP-6). The fixture holds, in 长安区 (inside the
// caller's scope) and in 桥西区 (outside it), an entity with a code, its
// operation-log rows, a download and a batch job each.
func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.f.Handler()
	conformance.Events(t, Name, e.f)
	conformance.Routes(t, h)

	in := entity(t, "enterprise", "130102")
	in.Name = "长安区恒信百货有限公司"
	out := entity(t, "enterprise", "130104")
	out.Name = "桥西区福源商贸有限公司"
	inCode, outCode := e.register(in), e.register(out)
	city := admin()
	jobs := map[string]BatchJob{}
	for _, c := range []Code{inCode, outCode} {
		if rec := e.do(&city, "GET", "/qr/v1/codes/"+c.Token+".svg", nil); rec.Code != http.StatusOK {
			t.Fatalf("seed download: %d %s", rec.Code, rec.Body)
		}
		jobs[c.Token] = e.submit(&city, map[string]any{"district_code": c.DistrictCode})
	}
	id := func(j BatchJob) string { return fmt.Sprint(j.ID) }

	p := authtest.InDistricts(conformance.Permissions(h), "130102")
	conformance.Scope(t, h, conformance.ScopeFixture{
		Bearer:  e.iss.Bearer(p),
		Inside:  map[string]string{"token": inCode.Token, "credit_codes": in.CreditCode, "id": id(jobs[inCode.Token])},
		Foreign: map[string]string{"token": outCode.Token, "credit_codes": out.CreditCode, "id": id(jobs[outCode.Token])},
		Bodies: map[string]string{
			"POST /qr/v1/codes/{token}/reject":     `{"reason":"材料不全"}`,
			"POST /qr/v1/codes/{token}/invalidate": `{"reason":"核查作废"}`,
			"POST /qr/v1/codes/{token}/reactivate": `{"reason":"核查无误"}`,
			"POST /qr/v1/batches":                  `{"credit_codes":["{{entity}}"]}`,
			"POST /qr/v1/downloads":                `{"credit_codes":["{{entity}}"],"format":"svg"}`,
		},
		Queries: map[string]string{
			"GET /qr/v1/codes/{token}/poster.pdf": "paper=A5",
			"GET /qr/v1/oplog/export":             "format=csv",
			"GET /qr/v1/stats":                    "group=district",
			"GET /qr/v1/stats/export":             "group=district&format=csv",
		},
		InsideMarkers:  []string{inCode.Token, in.CreditCode, in.Name, jobs[inCode.Token].BatchID, "长安区"},
		ForeignMarkers: []string{outCode.Token, out.CreditCode, out.Name, jobs[outCode.Token].BatchID, "桥西区"},
		// Counts per document kind name no entity; TestDownloadStatsFollowScope
		// checks the numbers a scoped caller sees.
		EmptyListings: []string{"GET /qr/v1/stats/downloads"},
	})
	// The probes changed the inside code (invalidated, then restored) and
	// never the foreign one.
	if c := e.codeOf(out.CreditCode); c.Status != StatusActive || c.Version != outCode.Version {
		t.Errorf("the foreign code changed: %+v", c)
	}
	if c := e.codeOf(in.CreditCode); c.Status != StatusActive || c.Version <= inCode.Version {
		t.Errorf("the inside code was not invalidated and restored: %+v", c)
	}
	if n := e.count(`SELECT count(*) FROM qr.batch_jobs WHERE operator_id = $1`, p.UserID); n != 1 {
		t.Errorf("%d batch jobs by the scoped caller, want the inside one only", n)
	}
}
