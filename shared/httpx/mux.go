package httpx

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Access is who may call a route. Every route declares one, so a route
// that forgot its guard is found by the conformance tests instead of
// being open by accident.
type Access string

const (
	AccessUnset      Access = ""
	AccessPublic     Access = "public"     // anyone, no token needed
	AccessSignedIn   Access = "signed_in"  // any valid access token
	AccessPermission Access = "permission" // a token carrying Route.Permission
	AccessInternal   Access = "internal"   // not routed from outside (documents, probes)
)

// EntityUse is how a route touches market-entity data, which decides how
// the scope conformance test probes it with an entity outside the
// caller's data scope.
type EntityUse string

const (
	EntityUnset EntityUse = ""
	EntityNone  EntityUse = "none"  // no entity data (users, roles, settings, aggregates of own data)
	EntityPath  EntityUse = "path"  // a path parameter names the entity (Route.EntityParam)
	EntityQuery EntityUse = "query" // a query parameter names the entity
	EntityBody  EntityUse = "body"  // a JSON body field names the entity
	EntityList  EntityUse = "list"  // lists or exports entity data, filtered by scope
)

// Route is one served route and its declared guards, as the conformance
// tests read them.
type Route struct {
	Pattern     string // "GET /registry/v1/entities/{code}"
	Access      Access
	Permission  string // "resource:action" when Access is AccessPermission
	Entity      EntityUse
	EntityParam string   // the path/query parameter or body field naming the entity
	Params      []string // query parameters the route accepts; others are refused
	AnyParams   bool     // the route takes arbitrary query parameters (public pages)
}

// Method is the route's HTTP method ("" when the pattern has none).
func (rt Route) Method() string {
	if m, _, ok := strings.Cut(rt.Pattern, " "); ok {
		return m
	}
	return ""
}

// Path is the route's path pattern.
func (rt Route) Path() string {
	if _, p, ok := strings.Cut(rt.Pattern, " "); ok {
		return p
	}
	return rt.Pattern
}

// Option declares a route's guard or its use of data; it may wrap the
// handler (auth's options check the caller).
type Option struct {
	apply func(*Route)
	wrap  func(http.Handler) http.Handler
}

// NewOption builds an Option from a route annotation and an optional
// middleware; shared/auth uses it for its guards.
func NewOption(apply func(*Route), wrap func(http.Handler) http.Handler) Option {
	return Option{apply: apply, wrap: wrap}
}

// Public marks a route open to anyone.
func Public() Option { return Option{apply: func(r *Route) { r.Access = AccessPublic }} }

// Internal marks a route that serves the function's own documents or
// probes; it carries no data.
func Internal() Option {
	return Option{apply: func(r *Route) { r.Access, r.Entity = AccessInternal, EntityNone }}
}

// NoEntity declares that the route carries no market-entity data.
func NoEntity() Option { return Option{apply: func(r *Route) { r.Entity = EntityNone }} }

// EntityIn declares that path parameter name is an entity's credit code.
func EntityIn(name string) Option {
	return Option{apply: func(r *Route) { r.Entity, r.EntityParam = EntityPath, name }}
}

// EntityInQuery declares that query parameter name is an entity's credit code.
func EntityInQuery(name string) Option {
	return Option{apply: func(r *Route) { r.Entity, r.EntityParam = EntityQuery, name }}
}

// EntityInBody declares that the JSON body's field name is an entity's
// credit code.
func EntityInBody(name string) Option {
	return Option{apply: func(r *Route) { r.Entity, r.EntityParam = EntityBody, name }}
}

// EntityListing declares that the route lists or exports entity data.
func EntityListing() Option { return Option{apply: func(r *Route) { r.Entity = EntityList }} }

// Params lists the query parameters a route accepts; a request with any
// other is refused with 400, so a misspelt filter never silently returns
// everything.
func Params(names ...string) Option {
	return Option{apply: func(r *Route) { r.Params = append(r.Params, names...) }}
}

// PageParams are the paging parameters ParsePage reads.
var PageParams = []string{"page", "page_size"}

// AnyParams lets a route take query parameters it does not know
// (tracking parameters on a public page's link).
func AnyParams() Option { return Option{apply: func(r *Route) { r.AnyParams = true }} }

// Mux is a ServeMux that records each route's declared guards and refuses
// query strings the route does not accept or that are not valid text.
type Mux struct {
	// mux serves the routes, and a catch-all that answers what none of
	// them serves in the JSON error shape; probe holds the routes alone, to
	// tell that answer (405 or 404) and for Handler.
	mux, probe *http.ServeMux
	routes     []Route
	errs       []error
	use        []func(http.Handler) http.Handler
	root       bool // a route of its own is the catch-all "/"

	once sync.Once
	h    http.Handler // the middleware around mux, built at the first request
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{mux: http.NewServeMux(), probe: http.NewServeMux()} }

// Use adds middleware run before routing, for every route. Call it, like
// Handle, before the Mux serves.
func (m *Mux) Use(mw ...func(http.Handler) http.Handler) { m.use = append(m.use, mw...) }

// Handle serves pattern with h, guarded and described by opts.
func (m *Mux) Handle(pattern string, h http.Handler, opts ...Option) {
	rt := Route{Pattern: pattern}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&rt)
		}
	}
	for i := len(opts) - 1; i >= 0; i-- {
		if opts[i].wrap != nil {
			h = opts[i].wrap(h)
		}
	}
	if rt.Access == AccessUnset {
		m.errs = append(m.errs, fmt.Errorf("route %q declares no access (Public, Internal, auth.SignedIn or auth.Permission)", pattern))
	}
	m.routes = append(m.routes, rt)
	m.root = m.root || pattern == "/"
	h = checkQuery(rt, h)
	m.mux.Handle(pattern, h)
	m.probe.Handle(pattern, h)
}

// HandleFunc is Handle for a function.
func (m *Mux) HandleFunc(pattern string, h http.HandlerFunc, opts ...Option) {
	m.Handle(pattern, h, opts...)
}

// Handler reports the pattern that serves r, as ServeMux.Handler does.
func (m *Mux) Handler(r *http.Request) (http.Handler, string) { return m.probe.Handler(r) }

// Routes lists the routes served, in registration order.
func (m *Mux) Routes() []Route { return slices.Clone(m.routes) }

// Err reports routes registered without a declared access.
func (m *Mux) Err() error {
	if len(m.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%v", m.errs)
}

// ServeHTTP routes r once: the middleware chain and the catch-all are
// built at the first request, so a request served by a route costs what
// the ServeMux alone costs (public pages are served at thousands a second).
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.once.Do(func() {
		if !m.root {
			m.mux.HandleFunc("/", m.unrouted)
		}
		var h http.Handler = m.mux
		for i := len(m.use) - 1; i >= 0; i-- {
			h = m.use[i](h)
		}
		m.h = h
	})
	m.h.ServeHTTP(w, r)
}

// unrouted answers what no route serves: "method not allowed" and "no such
// route" with the JSON error body instead of ServeMux's plain text.
func (m *Mux) unrouted(w http.ResponseWriter, r *http.Request) {
	h, pattern := m.probe.Handler(r)
	if pattern != "" { // a redirect to the cleaned path
		m.probe.ServeHTTP(w, r)
		return
	}
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		Fail(w, r, &errs.Error{Code: errs.Invalid, Message: "不支持该请求方法"}, http.StatusMethodNotAllowed)
	case http.StatusNotFound, 0:
		Fail(w, r, errs.New(errs.NotFound, "请求的地址不存在"))
	default:
		for k, v := range probe.header {
			w.Header()[k] = v
		}
		w.WriteHeader(probe.status)
	}
}

// headerProbe records what ServeMux's fallback handler would answer.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.header }
func (p *headerProbe) WriteHeader(c int) {
	if p.status == 0 {
		p.status = c
	}
}
func (p *headerProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

// RouteLister is what exposes its routes to the conformance tests: a
// *Mux, or a function's handler wrapping one.
type RouteLister interface{ Routes() []Route }

// checkQuery refuses parameters the route does not accept.
func checkQuery(rt Route, next http.Handler) http.Handler {
	if rt.AnyParams {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range r.URL.Query() {
			if !slices.Contains(rt.Params, name) {
				Fail(w, r, &errs.Error{Code: errs.Invalid, Message: "不支持的查询参数：" + printable(name),
					Fields: []errs.FieldError{{Field: printable(name), Message: "不支持的查询参数"}}})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// printable keeps an echoed parameter name short and valid text.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return s
}
