package scanresolve

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

func (f *Function) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /q/{token}", f.handleScan)
	mux.HandleFunc("GET /q/{token}/photos/{inspection}/{n}", f.handlePublicPhoto)
	mux.HandleFunc("GET /scan/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		_, _ = w.Write(openapi)
	})
	mux.Handle("POST /scan/v1/inspections", f.authed(http.HandlerFunc(f.handleInspection)))
	mux.Handle("GET /scan/v1/inspections", f.authed(auth.Require("scan.inspection", "view")(http.HandlerFunc(f.handleListInspections))))
	mux.Handle("GET /scan/v1/inspections/{inspection}/photos/{n}", f.authed(auth.Require("scan.inspection", "view")(http.HandlerFunc(f.handleInspectionPhoto))))
	mux.Handle("GET /scan/v1/stats", f.authed(auth.Require("scan.stats", "view")(http.HandlerFunc(f.handleStats))))
	mux.Handle("GET /scan/v1/stats/export", f.authed(auth.Require("scan.stats", "export")(http.HandlerFunc(f.handleStatsExport))))
	return mux
}

// authed puts the caller into the context (the API answers 401 for a bad
// token; the public page instead treats one as anonymous).
func (f *Function) authed(h http.Handler) http.Handler {
	if f.auth == nil { // only the route test builds a Function without one
		return h
	}
	return f.auth.Middleware(h)
}

func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, f.log, err)
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

// handleScan is the hot path: MAC check, one Redis GET, pre-rendered bytes.
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
		f.log.Warn("scan page unavailable", "err", err)
		if asJSON {
			f.fail(w, r, errs.Wrap(errs.Unavailable, "服务繁忙，请稍后重试", err))
			return
		}
		f.write(w, http.StatusServiceUnavailable, false, f.busy, nil, hdrNoCache)
		return
	}
	f.record(r, token, asJSON, e.status, e.cc, e.district, e.township, e.industry, p)
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
	p, err := f.auth.Verify(r.Context(), raw)
	if err != nil {
		return nil
	}
	return p
}

func (f *Function) serveInspector(w http.ResponseWriter, r *http.Request, token string, p *auth.Principal) {
	page, m, code, err := f.inspectorPage(r.Context(), token, p, r.URL.Query().Get("recorded") != "")
	if err != nil {
		// The database is away: the public page from the cache is better
		// than nothing, without the form.
		e, cerr := f.cache.get(r.Context(), token, false)
		if cerr != nil {
			f.log.Warn("inspector page unavailable", "err", err)
			f.write(w, http.StatusServiceUnavailable, false, f.busy, nil, hdrPrivate)
			return
		}
		page, code, m = e.body, e.code, meta{status: e.status, cc: e.cc, district: e.district, township: e.township, industry: e.industry}
	}
	f.record(r, token, false, m.status, m.cc, m.district, m.township, m.industry, p)
	f.write(w, code, false, page, nil, hdrPrivate)
}

func (f *Function) record(r *http.Request, token string, asJSON bool, status, cc, district, township, industry string, p *auth.Principal) {
	ua := r.Header.Get("User-Agent")
	s := scanRecord{At: f.now(), Token: token, CC: cc, District: district, Township: township, Industry: industry,
		Status: status, Channel: "h5", UA: uaClass(ua), OS: osFamily(ua), IPHash: ipHash(f.cfg.IPSalt, clientIP(r))}
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

// receive drops cached pages when what they show changes.
func (f *Function) receive(ctx context.Context, e event.Event) error {
	switch e.Type() {
	case events.EntityUpdated:
		var d events.EntityUpdatedData
		if err := e.DataAs(&d); err != nil {
			return errs.Wrap(errs.Invalid, "事件数据无法解析", err)
		}
		return f.cache.invalidateEntity(ctx, d.Entity.CreditCode, d.Entity.Version)
	case events.EntityDeregistered:
		var d events.EntityDeregisteredData
		if err := e.DataAs(&d); err != nil {
			return errs.Wrap(errs.Invalid, "事件数据无法解析", err)
		}
		return f.cache.invalidateEntity(ctx, d.CreditCode, d.Version)
	case events.QRIssued, events.QRInvalidated, events.QRReactivated:
		// All three carry token and credit_code.
		var d events.QRReactivatedData
		if err := e.DataAs(&d); err != nil {
			return errs.Wrap(errs.Invalid, "事件数据无法解析", err)
		}
		return f.cache.invalidateTokens(ctx, d.Token)
	case events.QRBatchIssued:
		// A token scanned before it was issued may be cached as "missing".
		var d events.QRBatchIssuedData
		if err := e.DataAs(&d); err != nil {
			return errs.Wrap(errs.Invalid, "事件数据无法解析", err)
		}
		tokens := make([]string, len(d.Codes))
		for i, c := range d.Codes {
			tokens[i] = c.Token
		}
		return f.cache.invalidateTokens(ctx, tokens...)
	}
	return nil
}
