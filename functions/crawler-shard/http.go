package crawlershard

import (
	_ "embed"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/crawl/v1/openapi.yaml", openapi }

// PermJob is the permission resource of crawl jobs and what they found
// (actions view, create), listed in shared/auth's catalogue.
const PermJob = "crawl.job"

// Handler serves the API behind token verification.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	m.Handle("GET /crawl/v1/jobs", httpx.Endpoint(f.listJobs), auth.Requires(PermJob, "view"), httpx.NoEntity(), httpx.Params(httpx.PageParams...))
	m.Handle("POST /crawl/v1/jobs", httpx.Body(f.createJob), auth.Requires(PermJob, "create"), httpx.NoEntity())
	m.Handle("GET /crawl/v1/jobs/{id}", httpx.Endpoint(f.getJob), auth.Requires(PermJob, "view"), httpx.NoEntity())
	// FP-85: the online entities found (websites, shops, delivery shops, mini-programs).
	m.Handle("GET /crawl/v1/online-entities", httpx.Endpoint(f.listEntities), auth.Requires(PermJob, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"q", "kind", "district"}, httpx.PageParams...)...))
	return m
}

// JobInput is what a client sends to create a crawl job.
type JobInput struct {
	Name         string   `json:"name"`
	Seeds        []string `json:"seeds"`
	Scope        []string `json:"scope"`
	MaxDepth     int      `json:"max_depth"`
	MaxPagesHost int      `json:"max_pages_host"`
	DelayMS      int      `json:"delay_ms"`
	Shards       int      `json:"shards"`
}

func parseSeed(s string) (*url.URL, error) {
	base, _ := url.Parse("http://x/")
	u, err := Normalize(base, s)
	if err != nil || !strings.Contains(s, "://") {
		return nil, errs.New(errs.Invalid, "种子地址无效："+s)
	}
	return u, nil
}

func (in *JobInput) validate() (Job, error) {
	var fe []errs.FieldError
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写任务名称"})
	}
	if len(in.Seeds) == 0 || len(in.Seeds) > 100000 {
		fe = append(fe, errs.FieldError{Field: "seeds", Message: "种子地址应为 1 至 100000 个"})
	}
	for _, s := range in.Seeds {
		if _, err := parseSeed(s); err != nil {
			fe = append(fe, errs.FieldError{Field: "seeds", Message: "种子地址无效：" + s})
			break
		}
	}
	if in.MaxDepth < 0 || in.MaxDepth > 20 {
		fe = append(fe, errs.FieldError{Field: "max_depth", Message: "抓取深度应在 0 至 20 之间"})
	}
	if in.MaxPagesHost == 0 {
		in.MaxPagesHost = 1000
	}
	if in.MaxPagesHost < 1 {
		fe = append(fe, errs.FieldError{Field: "max_pages_host", Message: "每个主机的页面上限应大于 0"})
	}
	if in.DelayMS < 0 {
		fe = append(fe, errs.FieldError{Field: "delay_ms", Message: "抓取间隔不能为负"})
	}
	if in.Shards == 0 {
		in.Shards = 8
	}
	if in.Shards < 1 || in.Shards > 1024 {
		fe = append(fe, errs.FieldError{Field: "shards", Message: "分片数应在 1 至 1024 之间"})
	}
	scope := in.Scope
	if len(scope) == 0 { // by default the seeds' own hosts
		for _, s := range in.Seeds {
			if u, err := parseSeed(s); err == nil {
				scope = append(scope, u.Hostname())
			}
		}
	}
	for i := range scope {
		scope[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(scope[i]), "."))
	}
	if err := errs.Fields(fe); err != nil {
		return Job{}, err
	}
	return Job{Name: in.Name, Seeds: in.Seeds, Scope: scope, MaxDepth: in.MaxDepth, MaxPagesHost: in.MaxPagesHost, DelayMS: in.DelayMS, Shards: in.Shards}, nil
}

func (f *Function) createJob(r *http.Request, in JobInput) (any, error) {
	j, err := in.validate()
	if err != nil {
		return nil, err
	}
	j, err = f.CreateJob(r.Context(), j)
	if err != nil {
		return nil, err
	}
	return httpx.Created(j, ""), nil
}

func (f *Function) listJobs(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	jobs, total, err := listJobs(r.Context(), f.pool, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(jobs, total, page), nil
}

func (f *Function) getJob(r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errs.New(errs.NotFound, "爬虫任务不存在")
	}
	return f.Progress(r.Context(), id)
}

func (f *Function) listEntities(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	out, total, err := listEntities(r.Context(), f.pool, EntityFilter{Q: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"), District: q.Get("district")}, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(out, total, page), nil
}
