package conformance

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/httpx"
)

// ScopeFixture is a function's data for the scope test: two market
// entities with data of every kind its routes serve, one inside the
// caller's data scope and one outside it.
type ScopeFixture struct {
	// Bearer is the Authorization header of a caller whose data scope
	// holds the inside entity and not the foreign one, holding every
	// permission the routes require (Permissions lists them).
	Bearer string
	// Inside and Foreign give, by parameter name ("code", "token",
	// "credit_code"), the values naming each entity in paths, queries and
	// bodies.
	Inside, Foreign map[string]string
	// Params fill the routes' other path parameters, by name.
	Params map[string]string
	// Bodies are the JSON bodies of routes that take one, by pattern;
	// "{{entity}}" is replaced by the entity's value.
	Bodies map[string]string
	// BodyFor builds a route's body from the entity value where more than
	// the value changes with the entity (its district, in a registration).
	BodyFor map[string]func(entity string) string
	// ContentTypes are the bodies' types by pattern; JSON when absent.
	ContentTypes map[string]string
	// Queries are extra query strings by pattern, e.g. "format=csv" for an
	// export whose default is binary.
	Queries map[string]string
	// InsideMarkers and ForeignMarkers are strings an answer about each
	// entity shows (its credit code, its name). A listing must never show
	// a foreign marker, and must show an inside one.
	InsideMarkers, ForeignMarkers []string
	// EmptyListings are listing patterns whose in-scope answer may rightly
	// be empty (say why beside them).
	EmptyListings []string
}

// Permissions lists every permission h's routes require, to mint the
// fixture's token.
func Permissions(h http.Handler) []string {
	var out []string
	if l, ok := h.(httpx.RouteLister); ok {
		for _, rt := range l.Routes() {
			if rt.Permission != "" && !slices.Contains(out, rt.Permission) {
				out = append(out, rt.Permission)
			}
		}
	}
	return out
}

// refused is how a route may refuse an entity outside the scope: as if it
// did not exist (404), or forbidden (403).
func refused(code int) bool { return code == http.StatusNotFound || code == http.StatusForbidden }

// Scope proves that every route of h that names an entity refuses one
// outside the caller's data scope, while serving one inside it (so the
// refusal is the scope's, not a broken request's), and that every listing
// shows no entity outside it.
func Scope(t testing.TB, h http.Handler, fx ScopeFixture) {
	t.Helper()
	l, ok := h.(httpx.RouteLister)
	if !ok {
		t.Fatalf("scope: the function's handler (%T) does not list its routes", h)
	}
	probed := 0
	for _, rt := range l.Routes() {
		if rt.Access == httpx.AccessPublic || rt.Access == httpx.AccessInternal {
			continue
		}
		switch rt.Entity {
		case httpx.EntityPath, httpx.EntityQuery, httpx.EntityBody:
			probed++
			foreign, ok := fx.Foreign[rt.EntityParam]
			inside, ok2 := fx.Inside[rt.EntityParam]
			if !ok || !ok2 {
				t.Errorf("scope: %s: the fixture has no inside and foreign value for %q", rt.Pattern, rt.EntityParam)
				continue
			}
			rec := fx.call(t, h, rt, foreign)
			if !refused(rec.Code) {
				t.Errorf("scope: %s with an entity outside the caller's scope answered %d, want 404 or 403: %s", rt.Pattern, rec.Code, short(rec))
			}
			fx.noForeign(t, rt, rec)
			if rec := fx.call(t, h, rt, inside); refused(rec.Code) || rec.Code >= 500 || rec.Code == http.StatusUnauthorized {
				t.Errorf("scope: %s with an entity inside the caller's scope answered %d (the fixture or the route is wrong): %s", rt.Pattern, rec.Code, short(rec))
			}
		case httpx.EntityList:
			probed++
			rec := fx.call(t, h, rt, "")
			if rec.Code != http.StatusOK {
				t.Errorf("scope: listing %s answered %d: %s", rt.Pattern, rec.Code, short(rec))
				continue
			}
			fx.noForeign(t, rt, rec)
			if !slices.Contains(fx.EmptyListings, rt.Pattern) && !slices.ContainsFunc(fx.InsideMarkers, func(m string) bool { return strings.Contains(rec.Body.String(), m) }) {
				t.Errorf("scope: listing %s shows nothing of the entity inside the scope (the fixture or the route is wrong): %s", rt.Pattern, short(rec))
			}
		}
	}
	if probed == 0 {
		t.Log("scope: no route of this function touches entity data")
	}
}

func (fx ScopeFixture) noForeign(t testing.TB, rt httpx.Route, rec *httptest.ResponseRecorder) {
	t.Helper()
	for _, m := range fx.ForeignMarkers {
		if m != "" && strings.Contains(rec.Body.String(), m) {
			t.Errorf("scope: %s shows %q of the entity outside the caller's scope", rt.Pattern, m)
		}
	}
}

// call requests rt with entity as its entity parameter's value.
func (fx ScopeFixture) call(t testing.TB, h http.Handler, rt httpx.Route, entity string) *httptest.ResponseRecorder {
	t.Helper()
	path := param.ReplaceAllStringFunc(rt.Path(), func(p string) string {
		name := strings.TrimSuffix(strings.Trim(p, "{}"), "...")
		if name == "$" {
			return ""
		}
		if rt.Entity == httpx.EntityPath && name == rt.EntityParam {
			return url.PathEscape(entity)
		}
		if v, ok := fx.Params[name]; ok {
			return url.PathEscape(v)
		}
		t.Errorf("scope: %s: the fixture has no value for path parameter %q", rt.Pattern, name)
		return "x"
	})
	q := url.Values{}
	if extra, ok := fx.Queries[rt.Pattern]; ok {
		if v, err := url.ParseQuery(extra); err == nil {
			q = v
		}
	}
	if rt.Entity == httpx.EntityQuery {
		q.Set(rt.EntityParam, entity)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	method := rt.Method()
	if method == "" {
		method = http.MethodGet
	}
	var body *strings.Reader
	if fn, ok := fx.BodyFor[rt.Pattern]; ok {
		body = strings.NewReader(fn(entity))
	} else if b, ok := fx.Bodies[rt.Pattern]; ok {
		body = strings.NewReader(strings.ReplaceAll(b, "{{entity}}", entity))
	} else if rt.Entity == httpx.EntityBody {
		t.Errorf("scope: %s: the fixture has no body", rt.Pattern)
		body = strings.NewReader("{}")
	}
	var req *http.Request
	if body != nil {
		req = httptest.NewRequest(method, path, body)
		ct := fx.ContentTypes[rt.Pattern]
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.Header.Set("Authorization", fx.Bearer)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func short(rec *httptest.ResponseRecorder) string {
	s := rec.Body.String()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
