package provincialsync

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/province/v1/openapi.yaml", openapi }

// PermSync is the permission resource (actions view, run), listed in
// shared/auth's catalogue.
const PermSync = "province.sync"

// Handler serves the runs, their logs, the pulled data and the mapping.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	page := httpx.PageParams
	m.Handle("GET /province/v1/runs", httpx.Endpoint(f.runs), auth.Requires(PermSync, "view"), httpx.NoEntity(), httpx.Params(page...)) // FP-165, 166
	m.Handle("POST /province/v1/runs", httpx.Endpoint(f.start), auth.Requires(PermSync, "run"), httpx.NoEntity())                       // FP-165, 166
	m.Handle("GET /province/v1/runs/{run}", httpx.Endpoint(f.run), auth.Requires(PermSync, "view"), httpx.NoEntity())
	// The interaction log names records: their lines follow the scope.
	m.Handle("GET /province/v1/runs/{run}/log", httpx.Endpoint(f.runLog), auth.Requires(PermSync, "view"), httpx.EntityListing(),
		httpx.Params(append([]string{"action"}, page...)...))
	// FP-165: the province's data, in our field names.
	for _, r := range resources {
		m.Handle("GET /province/v1/"+r.Name, httpx.Endpoint(f.rows(r)), auth.Requires(PermSync, "view"), httpx.EntityListing(),
			httpx.Params(append([]string{"q"}, page...)...))
	}
	m.Handle("GET /province/v1/mapping", httpx.Endpoint(f.mapping), auth.Requires(PermSync, "view"), httpx.NoEntity()) // FP-165
	return m
}

// scopeOf is the caller's scope as a filter on district_code (the
// province's records carry no township).
func scopeOf(r *http.Request) func(*[]any) string {
	scope := auth.Scope{}
	if p, ok := auth.FromContext(r.Context()); ok {
		scope = p.Scope
	}
	return func(a *[]any) string { return scope.Filter("district_code", "''", a) }
}

func (f *Function) runs(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := listRuns(r.Context(), f.pool, p)
	return httpx.NewPage(items, total, p), err
}

// start runs a sync now, in the background (it may take minutes); the
// answer says whether one was started or one is already running.
func (f *Function) start(r *http.Request) (any, error) {
	var running bool
	if err := f.pool.QueryRow(r.Context(), `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
		lockKey).Scan(&running); err != nil {
		return nil, err
	}
	if running {
		return nil, errs.New(errs.Conflict, "已有同步正在运行，请稍后查看结果")
	}
	p, _ := auth.FromContext(r.Context())
	if err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		return auditlog.Record(r.Context(), tx, Source, auditlog.Operation{At: f.now(), UserID: p.UserID, Username: p.Username,
			IP: httpx.ClientIP(r), Action: "province.sync.run", ObjectType: "province_sync",
			// The run's id exists only once the background sync has the lock,
			// after this row commits; the state says what was started.
			Before: map[string]any{"running": false}, After: map[string]any{"running": true, "trigger": "manual"}})
	}); err != nil {
		return nil, err
	}
	f.bg.Add(1)
	go func() {
		defer f.bg.Done()
		ctx := context.WithoutCancel(r.Context())
		if _, err := f.Sync(ctx, "manual"); err != nil {
			f.log.WarnContext(ctx, "manual province sync failed", "err", err)
		}
	}()
	return httpx.Accepted(map[string]string{"message": "同步已开始"}), nil
}

func runID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.ErrNotFound
	}
	return id, nil
}

func (f *Function) run(r *http.Request) (any, error) {
	id, err := runID(r)
	if err != nil {
		return nil, err
	}
	return getRun(r.Context(), f.pool, id)
}

var logActions = map[string]bool{"insert": true, "update": true, "push": true, "reject": true, "upload": true, "drift": true, "error": true}

func (f *Function) runLog(r *http.Request) (any, error) {
	id, err := runID(r)
	if err != nil {
		return nil, err
	}
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	action := r.URL.Query().Get("action")
	if action != "" && !logActions[action] {
		return nil, errs.Fields([]errs.FieldError{{Field: "action", Message: "操作类型不正确"}})
	}
	items, total, err := listLog(r.Context(), f.pool, id, action, scopeOf(r), p)
	return httpx.NewPage(items, total, p), err
}

func (f *Function) rows(res Resource) httpx.Endpoint {
	return func(r *http.Request) (any, error) {
		p, err := httpx.ParsePage(r)
		if err != nil {
			return nil, err
		}
		items, total, err := listRows(r.Context(), f.pool, res, strings.TrimSpace(r.URL.Query().Get("q")), scopeOf(r), p)
		return httpx.NewPage(items, total, p), err
	}
}

func (f *Function) mapping(*http.Request) (any, error) { return Resources(), nil }
