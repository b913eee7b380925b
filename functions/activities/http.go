package activities

import (
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/activities/v1/openapi.yaml", openapi }

// Permission resources (shared/auth's catalogue).
const (
	PermActivity = "activities.activity"
	PermSignup   = "activities.signup"
)

// Handler serves the console's API, the public JSON API of the
// mini-program and the H5 pages.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-76: the library, kept in the console.
	m.Handle("GET /activities/v1/activities", httpx.Endpoint(f.list), auth.Requires(PermActivity, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"q", "status"}, httpx.PageParams...)...))
	m.Handle("POST /activities/v1/activities", httpx.Body(f.create), auth.Requires(PermActivity, "create"), httpx.NoEntity())
	m.Handle("GET /activities/v1/activities/{id}", httpx.Endpoint(f.get), auth.Requires(PermActivity, "view"), httpx.NoEntity())
	m.Handle("PUT /activities/v1/activities/{id}", httpx.Body(f.update), auth.Requires(PermActivity, "edit"), httpx.NoEntity())
	m.Handle("POST /activities/v1/activities/{id}/publish", httpx.Endpoint(f.status("published")), auth.Requires(PermActivity, "edit"), httpx.NoEntity())
	m.Handle("POST /activities/v1/activities/{id}/cancel", httpx.Endpoint(f.status("cancelled")), auth.Requires(PermActivity, "edit"), httpx.NoEntity())
	m.Handle("PUT /activities/v1/activities/{id}/summary", httpx.Body(f.summary), auth.Requires(PermActivity, "edit"), httpx.NoEntity())
	m.Handle("POST /activities/v1/activities/{id}/photos", httpx.Endpoint(f.upload), auth.Requires(PermActivity, "edit"), httpx.NoEntity(),
		httpx.Params("caption"))
	m.HandleFunc("GET /activities/v1/activities/{id}/photos/{n}", f.photo(false), auth.Requires(PermActivity, "view"), httpx.NoEntity())
	m.Handle("GET /activities/v1/activities/{id}/signups", httpx.Endpoint(f.signups), auth.Requires(PermSignup, "view"), httpx.NoEntity(),
		httpx.Params(httpx.PageParams...))
	m.Handle("POST /activities/v1/imports", httpx.Body(f.importURL), auth.Requires(PermActivity, "create"), httpx.NoEntity())
	// FP-77: the mini-program's JSON API, public.
	m.Handle("GET /activities/v1/public/activities", httpx.Endpoint(f.publicList), httpx.Public(), httpx.Params(httpx.PageParams...))
	m.Handle("GET /activities/v1/public/activities/{id}", httpx.Endpoint(f.publicGet), httpx.Public())
	m.HandleFunc("GET /activities/v1/public/activities/{id}/photos/{n}", f.photo(true), httpx.Public())
	m.Handle("POST /activities/v1/public/activities/{id}/signups", httpx.Body(f.signUp), httpx.Public())
	m.Handle("GET /activities/v1/public/signups/{token}", httpx.Endpoint(f.mySignup), httpx.Public())
	m.Handle("DELETE /activities/v1/public/signups/{token}", httpx.Endpoint(f.cancelSignup), httpx.Public())
	// FP-77: the H5 pages.
	m.HandleFunc("GET /activities/m/", f.pageList, httpx.Public())
	m.HandleFunc("GET /activities/m/{id}", f.pageActivity, httpx.Public())
	m.HandleFunc("POST /activities/m/{id}/signup", f.pageSignUp, httpx.Public())
	m.HandleFunc("GET /activities/m/signups/{token}", f.pageSignup, httpx.Public())
	m.HandleFunc("POST /activities/m/signups/{token}/cancel", f.pageCancel, httpx.Public())
	return m
}

func actorOf(r *http.Request) Actor {
	a := Actor{IP: httpx.ClientIP(r)}
	if p, ok := auth.FromContext(r.Context()); ok {
		a.UserID, a.Username = p.UserID, p.Username
	}
	return a
}

func idOf(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.ErrNotFound
	}
	return id, nil
}

func (f *Function) list(r *http.Request) (any, error) {
	q := r.URL.Query()
	flt := ListFilter{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status")}
	if flt.Status != "" && flt.Status != "draft" && flt.Status != "published" && flt.Status != "cancelled" {
		return nil, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态应为 draft、published 或 cancelled"}})
	}
	if utf8.RuneCountInString(flt.Q) > 100 {
		return nil, errs.Fields([]errs.FieldError{{Field: "q", Message: "关键词不能超过 100 字"}})
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := listActivities(r.Context(), f.pool, flt, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) create(r *http.Request, in ActivityInput) (any, error) {
	a, err := f.Create(r.Context(), actorOf(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(a, "/activities/v1/activities/"+strconv.FormatInt(a.ID, 10)), nil
}

func (f *Function) get(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return getActivity(r.Context(), f.pool, id, false)
}

func (f *Function) update(r *http.Request, in ActivityInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Update(r.Context(), actorOf(r), id, in)
}

func (f *Function) status(s string) httpx.Endpoint {
	return func(r *http.Request) (any, error) {
		id, err := idOf(r)
		if err != nil {
			return nil, err
		}
		return f.SetStatus(r.Context(), actorOf(r), id, s)
	}
}

// SummaryInput is what is written after an activity.
type SummaryInput struct {
	Summary string  `json:"summary"`
	Photos  []Photo `json:"photos"`
}

func (f *Function) summary(r *http.Request, in SummaryInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.SetSummary(r.Context(), actorOf(r), id, in.Summary, in.Photos)
}

// upload stores a photo (multipart field "file", or an image body) and
// adds it to the activity.
func (f *Function) upload(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxImage+1<<20)
	var body io.Reader = r.Body
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "multipart/form-data") {
		file, hdr, err := r.FormFile("file")
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, "请上传照片（表单字段 file）", err)
		}
		defer file.Close()
		body, ct = file, hdr.Header.Get("Content-Type")
	}
	data, err := io.ReadAll(io.LimitReader(body, maxImage+1))
	if err != nil || len(data) == 0 || len(data) > maxImage {
		return nil, errs.New(errs.Invalid, "照片读取失败或超过 5MB")
	}
	mt := http.DetectContentType(data)
	if !strings.HasPrefix(mt, "image/") {
		return nil, errs.New(errs.Invalid, "只能上传图片")
	}
	caption := clip(strings.TrimSpace(r.URL.Query().Get("caption")), 100)
	var out Activity
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		a, err := getActivity(r.Context(), tx, id, true)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("activities/%d/photo-%03d%s", id, len(a.Photos)+1, imageExt(mt))
		if _, err := f.blob.Put(r.Context(), key, strings.NewReader(string(data)), mt); err != nil {
			return errs.Wrap(errs.Unavailable, "照片保存失败，请稍后重试", err)
		}
		photos := append(a.Photos, Photo{Key: key, Caption: caption})
		if _, err := tx.Exec(r.Context(), `UPDATE activities.activities SET photos = $2, version = version + 1, updated_at = $3 WHERE id = $1`,
			id, jsonArg(photos), f.now()); err != nil {
			return store.Classify(err)
		}
		if out, err = getActivity(r.Context(), tx, id, false); err != nil {
			return err
		}
		return f.audit(r.Context(), tx, actorOf(r), "activities.activity.photo", id, nil, map[string]string{"key": key})
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(out, ""), nil
}

// photo streams a photo; the public route serves published activities only.
func (f *Function) photo(public bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := idOf(r)
		n, nerr := strconv.Atoi(r.PathValue("n"))
		if err != nil || nerr != nil || n < 1 {
			httpx.Fail(w, r, errs.ErrNotFound)
			return
		}
		a, err := getActivity(r.Context(), f.pool, id, false)
		if err == nil && (n > len(a.Photos) || (public && a.Status != "published")) {
			err = errs.ErrNotFound
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		rc, info, err := f.blob.Get(r.Context(), a.Photos[n-1].Key)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		defer rc.Close()
		w.Header().Set("Content-Type", info.ContentType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = io.Copy(w, rc)
	}
}

func (f *Function) signups(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := listSignups(r.Context(), f.pool, id, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

// ImportInput names the page to import.
type ImportInput struct {
	URL string `json:"url"`
}

func (f *Function) importURL(r *http.Request, in ImportInput) (any, error) {
	res, err := f.Import(r.Context(), actorOf(r), in.URL)
	if err != nil {
		return nil, err
	}
	return httpx.Created(res, "/activities/v1/activities/"+strconv.FormatInt(res.Activity.ID, 10)), nil
}

// PublicActivity is an activity as the public sees it: no reviewer, no
// source bookkeeping; photos by address.
type PublicActivity struct {
	ID          int64      `json:"id"`
	Theme       string     `json:"theme"`
	Description string     `json:"description"`
	StartsAt    string     `json:"starts_at"`
	EndsAt      string     `json:"ends_at"`
	Place       string     `json:"place"`
	Organiser   string     `json:"organiser"`
	HowToJoin   string     `json:"how_to_join"`
	Capacity    int        `json:"capacity"`
	Confirmed   int        `json:"confirmed"`
	Waiting     int        `json:"waiting"`
	Left        int        `json:"places_left"`
	SignupOpen  bool       `json:"signup_open"`
	Materials   []Material `json:"materials"`
	Photos      []string   `json:"photos"`
	Summary     string     `json:"summary"`
}

func (f *Function) public(a Activity) PublicActivity {
	p := PublicActivity{ID: a.ID, Theme: a.Theme, Description: a.Description, StartsAt: a.StartsAt.In(beijing).Format("2006-01-02T15:04:05+08:00"),
		EndsAt: a.EndsAt.In(beijing).Format("2006-01-02T15:04:05+08:00"), Place: a.Place, Organiser: a.Organiser, HowToJoin: a.HowToJoin,
		Capacity: a.Capacity, Confirmed: a.Confirmed, Waiting: a.Waiting, Left: max(0, a.Capacity-a.Confirmed), Materials: nonNil(a.Materials),
		Photos: []string{}, Summary: a.Summary}
	now := f.now()
	p.SignupOpen = a.Status == "published" && a.Capacity > 0 && now.Before(a.StartsAt) && (a.SignupUntil == nil || !now.After(*a.SignupUntil)) &&
		(a.Confirmed < a.Capacity || a.Waiting < a.Waitlist)
	for i := range a.Photos {
		p.Photos = append(p.Photos, fmt.Sprintf("/activities/v1/public/activities/%d/photos/%d", a.ID, i+1))
	}
	return p
}

func (f *Function) publicList(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	since := f.now().AddDate(0, -3, 0) // and the summaries of the last months
	items, total, err := listActivities(r.Context(), f.pool, ListFilter{Status: "published", Upcoming: true, PublicNow: &since}, page)
	if err != nil {
		return nil, err
	}
	out := make([]PublicActivity, len(items))
	for i, a := range items {
		out[i] = f.public(a)
	}
	return httpx.NewPage(out, total, page), nil
}

func (f *Function) publicActivity(r *http.Request) (Activity, error) {
	id, err := idOf(r)
	if err != nil {
		return Activity{}, err
	}
	a, err := getActivity(r.Context(), f.pool, id, false)
	if err == nil && a.Status != "published" {
		err = errs.ErrNotFound
	}
	return a, err
}

func (f *Function) publicGet(r *http.Request) (any, error) {
	a, err := f.publicActivity(r)
	if err != nil {
		return nil, err
	}
	return f.public(a), nil
}

func (f *Function) signUp(r *http.Request, in SignupInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	s, err := f.Sign(r.Context(), id, actorOf(r).UserID, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(s, "/activities/v1/public/signups/"+s.Token), nil
}

// MySignup is a participant's sign-up with its activity.
type MySignup struct {
	Signup   Signup         `json:"signup"`
	Activity PublicActivity `json:"activity"`
}

func (f *Function) mySignup(r *http.Request) (any, error) {
	s, a, err := f.SignupByToken(r.Context(), r.PathValue("token"))
	if err != nil {
		return nil, err
	}
	return MySignup{Signup: s, Activity: f.public(a)}, nil
}

func (f *Function) cancelSignup(r *http.Request) (any, error) {
	return f.CancelSignup(r.Context(), r.PathValue("token"))
}
