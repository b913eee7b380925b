package laws

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed page.html
var pageHTML string

var pages = template.Must(template.New("laws").Funcs(template.FuncMap{
	// A snippet is escaped text with <em> marks (highlight).
	"html": func(s string) template.HTML { return template.HTML(s) }, //nolint:gosec // built by highlight, which escapes
}).Parse(pageHTML))

func writePage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// pageSearch is the public mobile search page (FP-68–75): it works
// without JavaScript, so a phone on 4G gets results in one round trip.
func (f *Function) pageSearch(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/laws/m/" { // the pattern is a subtree: nothing else lives here
		writePage(w, r, http.StatusNotFound, "search", map[string]any{"Error": "页面不存在", "Natures": Natures, "Statuses": Statuses})
		return
	}
	q := r.URL.Query()
	data := map[string]any{"Q": q.Get("q"), "Nature": q.Get("nature"), "Status": q.Get("status"), "Natures": Natures, "Statuses": Statuses}
	status := http.StatusOK
	if q.Get("q") != "" {
		req, err := searchRequest(r)
		var res SearchResult
		if err == nil {
			res, err = f.index.Search(r.Context(), req)
		}
		if err != nil {
			e := errs.As(err)
			if e == nil || e.Code == errs.Internal {
				httpx.Logger(r.Context()).ErrorContext(r.Context(), "laws: search page", "err", err)
				data["Error"] = "检索暂时不可用，请稍后再试"
				status = http.StatusServiceUnavailable
			} else {
				data["Error"] = e.Message
				status = map[errs.Code]int{errs.Invalid: 400, errs.Unavailable: 503}[e.Code]
				if status == 0 {
					status = 400
				}
			}
		} else {
			data["Result"] = res
			if res.Page > 1 {
				data["PrevURL"] = pageURL(q, res.Page-1)
			}
			if len(res.Hits) == res.PageSize && res.Page*res.PageSize < res.Total {
				data["NextURL"] = pageURL(q, res.Page+1)
			}
		}
	}
	writePage(w, r, status, "search", data)
}

func pageURL(q url.Values, page int) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	v.Set("page", strconv.Itoa(page))
	return "/laws/m/?" + v.Encode()
}

// block is an article with the headings that open before it.
type block struct {
	Part, Chapter, Section string
	A                      Article
}

func (f *Function) pageDocument(w http.ResponseWriter, r *http.Request) {
	id, err := idOf(r)
	var d Document
	if err == nil {
		d, err = f.Get(r.Context(), id)
	}
	if err != nil {
		status := http.StatusNotFound
		if errs.CodeOf(err) != errs.NotFound {
			status = http.StatusServiceUnavailable
			httpx.Logger(r.Context()).ErrorContext(r.Context(), "laws: document page", "err", err)
		}
		writePage(w, r, status, "search", map[string]any{"Error": "未找到该法规", "Natures": Natures, "Statuses": Statuses})
		return
	}
	var blocks []block
	var part, chapter, section string
	for _, a := range d.Articles {
		b := block{A: a}
		if a.Part != part {
			b.Part, part, chapter, section = a.Part, a.Part, "", ""
		}
		if a.Chapter != chapter {
			b.Chapter, chapter, section = a.Chapter, a.Chapter, ""
		}
		if a.Section != section {
			b.Section, section = a.Section, a.Section
		}
		blocks = append(blocks, b)
	}
	data := map[string]any{"Doc": d, "Blocks": blocks}
	if d.CurrentID != nil && *d.CurrentID != d.ID {
		for _, v := range d.Versions {
			if v.ID == *d.CurrentID {
				data["Current"] = v
			}
		}
	}
	writePage(w, r, http.StatusOK, "document", data)
}
