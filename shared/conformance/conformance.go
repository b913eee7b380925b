// Package conformance holds the tests every SmartReg function runs in its
// own suite, present and future (the scaffold writes the calls):
//
//   - Events: no unauthenticated or forged CloudEvent reaches Receive, on
//     any path, in the one-process shape or on a Knative port;
//   - Routes: every route declares who may call it, what entity data it
//     touches, and requires only permissions in the grantable catalogue;
//   - Scope: every route that returns or changes entity data refuses an
//     entity outside the caller's data scope, and still serves one inside.
package conformance

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime"
)

// quiet keeps the refused deliveries out of the test log.
func quiet() runtime.Options { return runtime.Options{Logger: slog.New(slog.DiscardHandler)} }

// spy stands in for a function's Receive, so a forged event that got
// through is counted and has no effect.
type spy struct {
	runtime.Function
	received atomic.Int32
}

func (s *spy) Receive(context.Context, event.Event) (*event.Event, error) {
	s.received.Add(1)
	return nil, nil
}

// forged is a plausible event an attacker would post: a forged entity
// update with a huge version, in both CloudEvents HTTP modes.
func forged(path string, structured bool, authz string) *http.Request {
	var req *http.Request
	if structured {
		req = httptest.NewRequest(http.MethodPost, path, strings.NewReader(
			`{"specversion":"1.0","id":"forged-1","source":"/functions/registry","type":"cn.gov.sjz.amr.entity.updated.v1","subject":"91130100MA0000000X","datacontenttype":"application/json","data":{"entity":{"credit_code":"91130100MA0000000X","version":999},"changed":["name"]}}`))
		req.Header.Set("Content-Type", "application/cloudevents+json")
	} else {
		req = httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"entity":{"version":999},"changed":["name"]}`))
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Id", "forged-2")
		req.Header.Set("Ce-Source", "/functions/registry")
		req.Header.Set("Ce-Type", "cn.gov.sjz.amr.entity.updated.v1")
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	return req
}

var param = regexp.MustCompile(`\{[^}]+\}`)

// paths are the paths an attacker would try: the roots, the function's
// prefix, and every route's path with its parameters filled.
func paths(name string, h http.Handler) []string {
	out := []string{"/", "/" + name + "/", "/" + name}
	if l, ok := h.(httpx.RouteLister); ok {
		for _, rt := range l.Routes() {
			p := param.ReplaceAllString(strings.TrimSuffix(rt.Path(), "{$}"), "x")
			out = append(out, strings.TrimSuffix(p, "..."))
		}
	}
	return out
}

// Events proves fn's deliveries are authenticated: posted to the public
// handler on every path, a CloudEvent never reaches Receive; on a Knative
// port (runtime.Knative) one without a valid OIDC token, or with the
// platform's own access token, is answered 401 and never reaches Receive.
func Events(t testing.TB, name string, fn runtime.Function) {
	t.Helper()
	s := &spy{Function: fn}
	pub := runtime.Handler(name, s, quiet())
	for _, p := range paths(name, fn.Handler()) {
		for _, structured := range []bool{false, true} {
			rec := httptest.NewRecorder()
			pub.ServeHTTP(rec, forged(p, structured, ""))
			if rec.Code >= 200 && rec.Code < 300 {
				t.Errorf("events: a CloudEvent POSTed to %s on the public listener answered %d", p, rec.Code)
			}
		}
	}
	sec := runtime.NewSecret()
	oidc, err := runtime.NewOIDC(name, runtime.OIDCConfig{Issuer: "https://kubernetes.default.svc.cluster.local",
		JWKSURL: "http://127.0.0.1:1/openid/v1/jwks"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	kn := runtime.Knative(name, s, oidc, quiet())
	local := runtime.Events(name, s, sec, quiet())
	for _, authz := range []string{"", "Bearer forged", "Basic YWRtaW46YWRtaW4=",
		"Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiJzbWFydHJlZyJ9."} {
		for _, structured := range []bool{false, true} {
			for where, h := range map[string]http.Handler{"Knative port": kn, "in-process receiver": local} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, forged("/", structured, authz))
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("events: %s, Authorization %q: status %d, want 401", where, authz, rec.Code)
				}
			}
		}
	}
	if n := s.received.Load(); n != 0 {
		t.Fatalf("events: %d forged events reached Receive", n)
	}
	// The positive control: the platform's own delivery is handled.
	req := forged("/", false, "")
	sec.Authorize(req)
	rec := httptest.NewRecorder()
	local.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted || s.received.Load() != 1 {
		t.Fatalf("events: the broker's authenticated delivery: status %d, received %d", rec.Code, s.received.Load())
	}
}

// Routes checks each route's declaration: an access level, a permission
// from the grantable catalogue where one is required, and an entity-data
// declaration on every non-public route.
func Routes(t testing.TB, h http.Handler) {
	t.Helper()
	l, ok := h.(httpx.RouteLister)
	if !ok {
		t.Fatalf("routes: the function's handler (%T) does not list its routes: build it with httpx.NewMux", h)
	}
	if m, ok := h.(interface{ Err() error }); ok {
		if err := m.Err(); err != nil {
			t.Errorf("routes: %v", err)
		}
	}
	routes := l.Routes()
	if len(routes) == 0 {
		t.Fatal("routes: the function serves no route")
	}
	for _, rt := range routes {
		switch rt.Access {
		case httpx.AccessPermission:
			if !auth.Grantable(rt.Permission) {
				t.Errorf("routes: %s requires %q, which is not in the grantable catalogue (shared/auth): no role could ever call it", rt.Pattern, rt.Permission)
			}
		case httpx.AccessPublic, httpx.AccessSignedIn, httpx.AccessInternal:
		default:
			t.Errorf("routes: %s declares no access", rt.Pattern)
		}
		if rt.Access != httpx.AccessPublic && rt.Entity == httpx.EntityUnset {
			t.Errorf("routes: %s does not declare its entity data (httpx.NoEntity, EntityIn, EntityInQuery, EntityInBody or EntityListing)", rt.Pattern)
		}
		if (rt.Entity == httpx.EntityPath || rt.Entity == httpx.EntityQuery || rt.Entity == httpx.EntityBody) && rt.EntityParam == "" {
			t.Errorf("routes: %s names no entity parameter", rt.Pattern)
		}
		if rt.Entity == httpx.EntityPath && !strings.Contains(rt.Path(), "{"+rt.EntityParam+"}") && !strings.Contains(rt.Path(), "{"+rt.EntityParam+"...}") {
			t.Errorf("routes: %s declares entity path parameter %q it does not have", rt.Pattern, rt.EntityParam)
		}
	}
}
