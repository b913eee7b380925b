package documents

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reaches a document or an entity
// outside the caller's data scope (FP-42), with a document of each kind
// of data on each side: versions, grants, published files.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.h)

	ctx := context.Background()
	city := auth.Principal{UserID: "owner-1", Username: "owner", Name: "起草人", Perms: enterprisePerms, Scope: auth.All()}
	// The caller: in 长安区 only, holding every permission the routes
	// require; the inside document is someone else's, shared with the
	// caller in full (a reviewer may not review their own).
	caller := authtest.InDistricts(conformance.Permissions(h.h), "130102")
	docs := map[string]string{}
	for _, code := range []string{h.changan, h.qiaoxi} {
		d := h.newRepair(t, city, code)
		// Two versions, so restore and diff have something to work on.
		v := clone(d.Values)
		v["contact"] = "王强"
		if _, err := h.f.Update(ctx, &city, actorOf(&city, ""), d.ID, UpdateInput{Values: v, Version: "1.0.0"}); err != nil {
			t.Fatal(err)
		}
		for _, g := range []GrantInput{{Kind: "user", ID: caller.UserID, Perms: []string{"read", "edit", "print", "share"}},
			{Kind: "user", ID: "someone", Perms: []string{"read"}}} {
			if _, err := h.f.AddGrant(ctx, &city, actorOf(&city, ""), d.ID, g); err != nil {
				t.Fatal(err)
			}
		}
		docs[code] = strconv.FormatInt(d.ID, 10)
	}
	// A published document outside the scope too: its files exist.
	rev := reviewer("rev-city", "130102", "130104")
	rev.Scope = auth.All()
	foreign := mustID(t, docs[h.qiaoxi])
	if _, err := h.f.Submit(ctx, &city, actorOf(&city, ""), foreign); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.Review(ctx, &rev, actorOf(&rev, ""), foreign, ReviewInput{Decision: "approve"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.Publish(ctx, &rev, actorOf(&rev, ""), foreign); err != nil {
		t.Fatal(err)
	}

	newInside, newForeign := h.changan, h.qiaoxi
	conformance.Scope(t, h.h, conformance.ScopeFixture{
		Bearer:  h.bearer(caller),
		Inside:  map[string]string{"id": docs[h.changan], "code": h.changan, "credit_code": newInside},
		Foreign: map[string]string{"id": docs[h.qiaoxi], "code": h.qiaoxi, "credit_code": newForeign},
		Params:  map[string]string{"version": "1.0.0", "kind": "user", "grantee": "someone"},
		Bodies: map[string]string{
			"PUT /docs/v1/documents/{id}":                             `{"values":{"contact":"赵六"},"version":"1.0.1"}`,
			"POST /docs/v1/documents/{id}/review":                     `{"decision":"approve"}`,
			"POST /docs/v1/documents/{id}/correct":                    `{"values":{},"note":"更正联系人","version":"1.0.1"}`,
			"POST /docs/v1/documents/{id}/grants":                     `{"kind":"role","id":"inspector","perms":["read"]}`,
			"POST /docs/v1/documents/{id}/links":                      `{"format":"pdf","hours":24}`,
			"POST /docs/v1/documents/{id}/versions/{version}/restore": `{}`,
		},
		BodyFor: map[string]func(string) string{"POST /docs/v1/documents": func(code string) string {
			return fmt.Sprintf(`{"template_code":"pledge_integrity","credit_code":%q,"values":{}}`, code)
		}},
		Queries: map[string]string{
			"GET /docs/v1/prefill/{code}":      "template=credit_repair",
			"GET /docs/v1/documents/{id}/diff": "from=1.0.0&to=1.0.1",
			"GET /docs/v1/documents/export":    "format=csv",
		},
		InsideMarkers:  []string{"石家庄长安诚信商贸有限公司"},
		ForeignMarkers: []string{h.qiaoxi, "石家庄桥西福源超市有限公司"},
	})
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func clone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
