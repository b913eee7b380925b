package activities

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed page.html
var pageHTML string

var pages = template.Must(template.New("activities").Parse(pageHTML))

func writePage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func when(p PublicActivity) string {
	s, e := p.StartsAt, p.EndsAt
	if len(s) < 16 || len(e) < 16 {
		return s
	}
	out := s[:10] + " " + s[11:16] + " — "
	if e[:10] != s[:10] {
		out += e[:10] + " "
	}
	return out + e[11:16]
}

func (f *Function) pageList(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/activities/m/" { // the pattern is a subtree: nothing else lives here
		http.Error(w, "页面不存在", http.StatusNotFound)
		return
	}
	since := f.now().AddDate(0, -3, 0)
	items, _, err := listActivities(r.Context(), f.pool, ListFilter{Status: "published", Upcoming: true, PublicNow: &since}, httpx.Page{Page: 1, Size: 50})
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	out := make([]PublicActivity, len(items))
	for i, a := range items {
		out[i] = f.public(a)
		out[i].StartsAt = when(out[i])
	}
	writePage(w, r, http.StatusOK, "list", map[string]any{"Items": out})
}

func (f *Function) activityPage(w http.ResponseWriter, r *http.Request, status int, in SignupInput, msg string) {
	a, err := f.publicActivity(r)
	if err != nil {
		http.Error(w, "活动不存在", http.StatusNotFound)
		return
	}
	p := f.public(a)
	writePage(w, r, status, "activity", map[string]any{"A": p, "When": when(p), "In": in, "Error": msg})
}

func (f *Function) pageActivity(w http.ResponseWriter, r *http.Request) {
	f.activityPage(w, r, http.StatusOK, SignupInput{}, "")
}

// pageSignUp takes the form, then shows the result at the sign-up's own
// address (303), so a reload does not sign up twice.
func (f *Function) pageSignUp(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		f.activityPage(w, r, http.StatusBadRequest, SignupInput{}, "表单无法读取")
		return
	}
	in := SignupInput{Name: r.PostForm.Get("name"), Phone: r.PostForm.Get("phone"), Org: r.PostForm.Get("org")}
	id, err := idOf(r)
	var s Signup
	if err == nil {
		s, err = f.Sign(r.Context(), id, actorOf(r).UserID, in)
	}
	if err != nil {
		e := errs.As(err)
		if e == nil || e.Code == errs.Internal || e.Code == errs.Unavailable {
			httpx.Logger(r.Context()).ErrorContext(r.Context(), "activities: sign-up page", "err", err)
			f.activityPage(w, r, http.StatusServiceUnavailable, in, "报名暂时无法提交，请稍后再试")
			return
		}
		status := map[errs.Code]int{errs.Invalid: 400, errs.Conflict: 409, errs.NotFound: 404}[e.Code]
		msg := e.Message
		if len(e.Fields) > 0 {
			msg = e.Fields[0].Message
		}
		f.activityPage(w, r, status, in, msg)
		return
	}
	http.Redirect(w, r, "/activities/m/signups/"+s.Token, http.StatusSeeOther)
}

func (f *Function) pageSignup(w http.ResponseWriter, r *http.Request) {
	s, a, err := f.SignupByToken(r.Context(), r.PathValue("token"))
	if err != nil {
		http.Error(w, "报名记录不存在", http.StatusNotFound)
		return
	}
	p := f.public(a)
	writePage(w, r, http.StatusOK, "signup", map[string]any{"S": s, "A": p, "When": when(p)})
}

func (f *Function) pageCancel(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if _, err := f.CancelSignup(r.Context(), tok); err != nil && errs.CodeOf(err) != errs.Conflict {
		http.Error(w, "报名记录不存在", http.StatusNotFound)
		return
	}
	http.Redirect(w, r, "/activities/m/signups/"+tok, http.StatusSeeOther)
}
