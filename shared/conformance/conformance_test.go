package conformance

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// recorder is a testing.TB that records failures instead of failing, so
// the conformance tests can be shown to catch what they exist to catch.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper()    {}
func (r *recorder) Log(...any) {}
func (r *recorder) Errorf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(f, a...))
}
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); runtime.Goexit() }
func (r *recorder) Fatal(a ...any)            { r.Errorf("%s", fmt.Sprint(a...)); runtime.Goexit() }

// run calls check with a recorder and returns what it reported.
func run(t *testing.T, check func(testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); check(r) }()
	<-done
	return r.errors
}

// shop is a tiny function: entities in two districts, a permissioned API.
type shop struct {
	v        *auth.Verifier
	leaky    bool // forgets the scope on reads
	openPerm bool // requires a permission outside the catalogue
	noDecl   bool // a route without an access declaration
	events   int
}

var entities = map[string]string{"91130102MA00000001": "130102", "91130104MA00000002": "130104"}

func (s *shop) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(s.v.Middleware)
	perm := auth.Requires("registry.entity", "view")
	if s.openPerm {
		perm = auth.Requires("registry.entity", "teleport")
	}
	m.Handle("GET /shop/v1/entities/{code}", httpx.Endpoint(func(r *http.Request) (any, error) {
		p, _ := auth.FromContext(r.Context())
		d, ok := entities[r.PathValue("code")]
		if !ok || (!s.leaky && !p.Scope.Allows(d, "")) {
			return nil, errs.ErrNotFound
		}
		return map[string]string{"credit_code": r.PathValue("code")}, nil
	}), perm, httpx.EntityIn("code"))
	m.Handle("GET /shop/v1/entities", httpx.Endpoint(func(r *http.Request) (any, error) {
		p, _ := auth.FromContext(r.Context())
		var out []string
		for c, d := range entities {
			if s.leaky || p.Scope.Allows(d, "") {
				out = append(out, c)
			}
		}
		return out, nil
	}), perm, httpx.EntityListing())
	if s.noDecl {
		m.Handle("GET /shop/v1/open", http.NotFoundHandler())
	}
	return m
}

func (s *shop) Receive(context.Context, event.Event) (*event.Event, error) {
	s.events++
	return nil, nil
}
func (s *shop) Ready(context.Context) error { return nil }

func fixture(iss *authtest.Issuer) ScopeFixture {
	return ScopeFixture{
		Bearer:        iss.Bearer(authtest.InDistricts([]string{"registry.entity:view"}, "130102")),
		Inside:        map[string]string{"code": "91130102MA00000001"},
		Foreign:       map[string]string{"code": "91130104MA00000002"},
		InsideMarkers: []string{"91130102MA00000001"}, ForeignMarkers: []string{"91130104MA00000002"},
	}
}

func TestConformingFunctionPasses(t *testing.T) {
	iss := authtest.NewIssuer(t)
	s := &shop{v: iss.Verifier()}
	Events(t, "shop", s)
	Routes(t, s.Handler())
	Scope(t, s.Handler(), fixture(iss))
	if s.events != 0 {
		t.Fatalf("the conformance test let %d events reach the function itself", s.events)
	}
}

func TestScopeCatchesALeak(t *testing.T) {
	iss := authtest.NewIssuer(t)
	s := &shop{v: iss.Verifier(), leaky: true}
	got := run(t, func(tb testing.TB) { Scope(tb, s.Handler(), fixture(iss)) })
	joined := strings.Join(got, "\n")
	if !strings.Contains(joined, "GET /shop/v1/entities/{code} with an entity outside") || !strings.Contains(joined, "GET /shop/v1/entities shows") {
		t.Fatalf("a leaky function passed the scope test: %q", got)
	}
}

func TestRoutesCatchesMissingCatalogueEntryAndDeclarations(t *testing.T) {
	iss := authtest.NewIssuer(t)
	got := run(t, func(tb testing.TB) { Routes(tb, (&shop{v: iss.Verifier(), openPerm: true}).Handler()) })
	if len(got) == 0 || !strings.Contains(got[0], "registry.entity:teleport") {
		t.Fatalf("a permission outside the catalogue passed: %q", got)
	}
	got = run(t, func(tb testing.TB) { Routes(tb, (&shop{v: iss.Verifier(), noDecl: true}).Handler()) })
	if !strings.Contains(strings.Join(got, "\n"), "GET /shop/v1/open") {
		t.Fatalf("an undeclared route passed: %q", got)
	}
}

// A function whose own routes accept a POST to "/" with a CloudEvent would
// let forged events in; Events notices because Receive is reached... it
// cannot, since the public handler never calls Receive. What a function can
// do wrong is handle the event itself in a route: that answers 2xx.
type catchAll struct{ shop }

func (c *catchAll) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
}

func TestEventsCatchesARouteThatTakesEvents(t *testing.T) {
	got := run(t, func(tb testing.TB) { Events(tb, "shop", &catchAll{}) })
	if len(got) == 0 || !strings.Contains(got[0], "on the public listener answered 202") {
		t.Fatalf("a route accepting posted events passed: %q", got)
	}
}
