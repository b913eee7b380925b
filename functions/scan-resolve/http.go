package scanresolve

import (
	_ "embed"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/favicon"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is scan-resolve's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/scan/v1/openapi.yaml", openapi }

// The permission resources of scan-resolve's API (shared/auth catalogue).
const (
	PermInspection = "scan.inspection"
	PermStats      = "scan.stats"
)

// Handler serves the public pages /q/ and the API /scan/v1/. The API
// verifies the caller's token (401 for a bad one) and confines what it
// reads and writes to the caller's data scope; the public pages are open
// to anyone and read a token only to recognise an inspector, treating a
// bad one as anonymous, so a citizen with a stale cookie still sees the
// shop's information.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	authn := httpx.NewOption(nil, f.verifier.Middleware)
	// FP-26–35, FP-78–84: the page, its JSON twin (/q/{token}.json) and the
	// photo links of its inspections. A shared link may carry tracking
	// parameters; the page reads only "recorded".
	m.HandleFunc("GET /q/{token}", f.handleScan, httpx.Public(), httpx.AnyParams())
	// A link copied with a trailing slash lands on the page, not a bare 404.
	m.HandleFunc("GET /q/{token}/{$}", redirectToPage, httpx.Public(), httpx.AnyParams())
	// Browsers ask the origin's root for the icon of every page they open;
	// the gateway sends /favicon.ico here (a page link would cost the phone
	// one more request).
	m.Handle("GET /favicon.ico", favicon.Handler(), httpx.Public())
	m.HandleFunc("GET /q/{token}/photos/{inspection}/{n}", f.handlePublicPhoto, httpx.Public(), httpx.AnyParams())
	// FP-30, FP-32: inspections recorded on the spot (inspector role or
	// scan.inspection:create, checked by the handler), and the console's
	// 一户一档 list with its photos.
	m.HandleFunc("POST /scan/v1/inspections", f.handleInspection, authn, auth.SignedIn(), httpx.EntityInBody("token"))
	m.Handle("GET /scan/v1/inspections", httpx.Endpoint(f.inspections), authn, auth.Requires(PermInspection, "view"),
		httpx.EntityInQuery("credit_code"), httpx.Params(append([]string{"credit_code", "token"}, httpx.PageParams...)...))
	m.HandleFunc("GET /scan/v1/inspections/{inspection}/photos/{n}", f.handleInspectionPhoto, authn,
		auth.Requires(PermInspection, "view"), httpx.EntityIn("inspection"))
	// FP-48–50: scan statistics of the caller's districts.
	m.Handle("GET /scan/v1/stats", httpx.Endpoint(f.stats), authn, auth.Requires(PermStats, "view"), httpx.EntityListing(),
		httpx.Params(statsParams...))
	m.HandleFunc("GET /scan/v1/stats/export", f.statsExport, authn, auth.Requires(PermStats, "export"), httpx.EntityListing(),
		httpx.Params(slices.Concat(statsParams, []string{"format"})...))
	return m
}

// redirectToPage sends /q/{token}/ to /q/{token}, keeping the query.
func redirectToPage(w http.ResponseWriter, r *http.Request) {
	u := "/q/" + url.PathEscape(r.PathValue("token"))
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, u, http.StatusMovedPermanently)
}

// scopeOf is the caller's data scope; a request without a principal sees
// nothing.
func scopeOf(r *http.Request) auth.Scope {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.Scope
	}
	return auth.Scope{}
}

// Header values shared by every answer, so the hot path allocates none.
var (
	hdrHTML    = []string{"text/html; charset=utf-8"}
	hdrJSON    = []string{"application/json; charset=utf-8"}
	hdrNoCache = []string{"no-cache"}
	hdrNoSniff = []string{"nosniff"}
	hdrCSP     = []string{"default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"}
	hdrPrivate = []string{"private, no-store"}
)

// handleScan is the hot path: MAC check, the cached bytes (cache.go), the
// scan recorded, the bytes written.
func (f *Function) handleScan(w http.ResponseWriter, r *http.Request) {
	token, asJSON := strings.CutSuffix(r.PathValue("token"), ".json")
	if !f.tokens.Valid(token) {
		// Forged or mistyped: answered without touching Redis or PostgreSQL.
		f.write(w, http.StatusNotFound, asJSON, f.notFound, nil, hdrNoCache)
		return
	}
	p := f.principal(r)
	if !asJSON && p.HasRole("inspector") {
		f.serveInspector(w, r, token, p)
		return
	}
	e, err := f.cache.get(r.Context(), token, asJSON)
	if err != nil {
		httpx.Logger(r.Context()).WarnContext(r.Context(), "scan page unavailable", "err", err)
		if asJSON {
			httpx.Fail(w, r, errs.Wrap(errs.Unavailable, "服务繁忙，请稍后重试", err))
			return
		}
		f.write(w, http.StatusServiceUnavailable, false, f.busy, nil, hdrNoCache)
		return
	}
	f.record(r, token, asJSON, e.facts, p)
	f.write(w, e.code, asJSON, e.body, e.clen, hdrNoCache)
}

// write writes an answer; clen is its Content-Length when already known
// (nil: computed here).
func (f *Function) write(w http.ResponseWriter, code int, asJSON bool, body []byte, clen, cache []string) {
	h := w.Header()
	if asJSON {
		if code == http.StatusNotFound && len(body) > 0 && body[0] == '<' {
			body, clen = notFoundJSON, nil
		}
		h["Content-Type"] = hdrJSON
	} else {
		h["Content-Type"] = hdrHTML
		h["Content-Security-Policy"] = hdrCSP
	}
	if clen == nil {
		clen = []string{strconv.Itoa(len(body))}
	}
	h["Content-Length"] = clen
	h["Cache-Control"] = cache
	h["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

var notFoundJSON = []byte(`{"error":{"code":"not_found","message":"二维码无效"}}` + "\n")

// principal is the caller of the public page, nil when anonymous. A bad or
// expired token makes the page anonymous instead of refusing it: a citizen
// with a stale cookie must still see the shop's information.
func (f *Function) principal(r *http.Request) *auth.Principal {
	if r.Header.Get("Authorization") == "" && r.Header.Get("Cookie") == "" {
		return nil
	}
	raw := auth.TokenFrom(r)
	if raw == "" {
		return nil
	}
	p, err := f.verifier.Verify(r.Context(), raw)
	if err != nil {
		return nil
	}
	return p
}

func (f *Function) serveInspector(w http.ResponseWriter, r *http.Request, token string, p *auth.Principal) {
	page, fc, code, err := f.inspectorPage(r.Context(), token, p, r.URL.Query().Get("recorded") != "")
	if err != nil {
		// The database is away: the public page from the cache is better
		// than nothing, without the form.
		e, cerr := f.cache.get(r.Context(), token, false)
		if cerr != nil {
			httpx.Logger(r.Context()).WarnContext(r.Context(), "inspector page unavailable", "err", err)
			f.write(w, http.StatusServiceUnavailable, false, f.busy, nil, hdrPrivate)
			return
		}
		page, code, fc = e.body, e.code, e.facts
	}
	f.record(r, token, false, fc, p)
	f.write(w, code, false, page, nil, hdrPrivate)
}

// record hands one scan to the recorder; it never waits on I/O.
func (f *Function) record(r *http.Request, token string, asJSON bool, fc facts, p *auth.Principal) {
	ua := r.Header.Get("User-Agent")
	s := scanRecord{facts: fc, At: f.now(), Token: token, Channel: "h5", UA: uaClass(ua), OS: osFamily(ua),
		IPHash: ipHash(f.cfg.IPSalt, httpx.ClientIP(r))}
	if asJSON {
		s.Channel = "json"
	}
	if p != nil {
		s.Role = "user"
		if p.HasRole("inspector") {
			s.Role = "inspector"
		} else if len(p.Roles) > 0 {
			s.Role = p.Roles[0]
		}
	}
	f.rec.add(s)
}
