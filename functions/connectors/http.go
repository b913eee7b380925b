package connectors

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"time"

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
func (f *Function) OpenAPI() (string, []byte) { return "/connectors/v1/openapi.yaml", openapi }

// Permission resources, listed in shared/auth's catalogue.
const (
	PermConnector = "connectors.connector" // view, run
	PermDatabase  = "connectors.database"  // view, edit
)

// Handler serves the connectors' state, runs and interaction logs (the
// console's 数据对接 page), the 立即同步 action, and the external database
// configurations. The log names remote URLs and record ids, not entity
// data, so it is not scoped.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	page := httpx.PageParams
	// FP-13, FP-14, FP-15, FP-16, FP-19, FP-20, FP-21
	m.Handle("GET /connectors/v1/connectors", httpx.Endpoint(f.list), auth.Requires(PermConnector, "view"), httpx.NoEntity())
	// FP-13, FP-14, FP-15, FP-16, FP-19, FP-20, FP-21
	m.Handle("GET /connectors/v1/connectors/{name}/log", httpx.Endpoint(f.interactionLog), auth.Requires(PermConnector, "view"), httpx.NoEntity(),
		httpx.Params(page...))
	m.Handle("GET /connectors/v1/connectors/{name}/runs", httpx.Endpoint(f.runs), auth.Requires(PermConnector, "view"), httpx.NoEntity(),
		httpx.Params(page...)) // FP-13, FP-14, FP-15, FP-16, FP-19, FP-20, FP-21
	m.Handle("POST /connectors/v1/connectors/{name}/runs", httpx.Endpoint(f.start), auth.Requires(PermConnector, "run"), httpx.NoEntity())       // FP-13, FP-14, FP-15, FP-16, FP-19, FP-20, FP-21
	m.Handle("GET /connectors/v1/databases", httpx.Endpoint(f.databases), auth.Requires(PermDatabase, "view"), httpx.NoEntity())                 // FP-13
	m.Handle("POST /connectors/v1/databases", httpx.Body(f.createDatabase), auth.Requires(PermDatabase, "edit"), httpx.NoEntity())               // FP-13
	m.Handle("PUT /connectors/v1/databases/{id}", httpx.Body(f.updateDatabase), auth.Requires(PermDatabase, "edit"), httpx.NoEntity())           // FP-13
	m.Handle("POST /connectors/v1/databases/{id}/check", httpx.Endpoint(f.checkDatabase), auth.Requires(PermDatabase, "edit"), httpx.NoEntity()) // FP-13
	return m
}

// runningSQL says whether a run of connector $1 holds its lock: a run
// row still marked running may be one a kill left behind.
const runningSQL = `EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND objid = hashtext('connectors:' || $1)::oid AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`

// Status is a connector with its state, as the console lists it.
type Status struct {
	Connector
	Cursor     string     `json:"cursor"`
	LastRunAt  *time.Time `json:"last_run_at"`
	LastStatus string     `json:"last_status"`
	LastError  string     `json:"last_error"`
	Health     string     `json:"health"`
	Running    bool       `json:"running"`
	LastRun    *Run       `json:"last_run"`
	Items      int        `json:"items"`
}

// Statuses is every connector with its state.
func (f *Function) Statuses(ctx context.Context) ([]Status, error) {
	all := append([]Connector(nil), f.builtin...)
	dbs, err := f.Databases(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range dbs {
		all = append(all, Connector{Name: d.Connector, Title: "外部数据库：" + d.Name, FP: "FP-13", System: d.Kind + " 交换表 " + d.Table,
			Direction: "pull", URL: d.DSN})
	}
	out := make([]Status, 0, len(all))
	for _, c := range all {
		s := Status{Connector: c, Health: "unknown"}
		var runID *int64
		err := f.pool.QueryRow(ctx, `SELECT cursor, last_run_at, last_status, last_error, health, last_run_id,
			(SELECT count(*) FROM connectors.items WHERE connector = $1),
			`+runningSQL+`
			FROM connectors.state WHERE connector = $1`, c.Name).Scan(&s.Cursor, &s.LastRunAt, &s.LastStatus, &s.LastError, &s.Health, &runID, &s.Items, &s.Running)
		if err != nil && err != pgx.ErrNoRows {
			return nil, store.Classify(err)
		}
		if runID != nil {
			if r, err := scanRun(f.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM connectors.runs WHERE id = $1`, *runID)); err == nil {
				s.LastRun = &r
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func (f *Function) list(r *http.Request) (any, error) {
	items, err := f.Statuses(r.Context())
	return map[string]any{"items": items}, err
}

// LogLine is one line of the interaction log.
type LogLine struct {
	ID         int64     `json:"id"`
	RunID      *int64    `json:"run_id"`
	At         time.Time `json:"at"`
	Method     string    `json:"method"`
	URL        string    `json:"url"`
	Status     int       `json:"status"`
	Rows       int       `json:"rows"`
	DurationMS int       `json:"duration_ms"`
	Error      string    `json:"error"`
}

func (f *Function) named(r *http.Request) (Connector, error) {
	return f.connector(r.Context(), r.PathValue("name"))
}

func (f *Function) interactionLog(r *http.Request) (any, error) {
	c, err := f.named(r)
	if err != nil {
		return nil, err
	}
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	lines, total, err := listLog(r.Context(), f.pool, c.Name, p)
	return httpx.NewPage(lines, total, p), err
}

func (f *Function) runs(r *http.Request) (any, error) {
	c, err := f.named(r)
	if err != nil {
		return nil, err
	}
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := listRuns(r.Context(), f.pool, c.Name, p)
	return httpx.NewPage(items, total, p), err
}

// start is 立即同步: the run goes on in the background (a remote system
// may take minutes); the answer says it started, or that one is running.
func (f *Function) start(r *http.Request) (any, error) {
	c, err := f.named(r)
	if err != nil {
		return nil, err
	}
	var running bool
	if err := f.pool.QueryRow(r.Context(), `SELECT `+runningSQL, c.Name).Scan(&running); err != nil {
		return nil, store.Classify(err)
	}
	if running {
		return nil, errRunning
	}
	who := auditlog.ActorOf(r)
	if err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(r.Context(), tx, Source, who, auditlog.Operation{At: f.now(), Action: "connectors.run.start",
			ObjectType: "connector", ObjectID: c.Name, Before: map[string]any{"running": false}, After: map[string]any{"running": true, "trigger": "manual"}})
	}); err != nil {
		return nil, err
	}
	f.bg.Add(1)
	go func() {
		defer f.bg.Done()
		ctx := context.WithoutCancel(r.Context())
		if _, err := f.RunConnector(ctx, c.Name, "manual"); err != nil {
			f.log.WarnContext(ctx, "connectors: manual run", "connector", c.Name, "err", err)
		}
	}()
	return httpx.Accepted(map[string]string{"message": "同步已开始", "connector": c.Name}), nil
}

func (f *Function) databases(r *http.Request) (any, error) {
	items, err := f.Databases(r.Context())
	return map[string]any{"items": items}, err
}

func dbID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.ErrNotFound
	}
	return id, nil
}

func (f *Function) createDatabase(r *http.Request, in DatabaseInput) (any, error) {
	d, err := f.SaveDatabase(r.Context(), auditlog.ActorOf(r), 0, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(d, ""), nil
}

func (f *Function) updateDatabase(r *http.Request, in DatabaseInput) (any, error) {
	id, err := dbID(r)
	if err != nil {
		return nil, err
	}
	return f.SaveDatabase(r.Context(), auditlog.ActorOf(r), id, in)
}

func (f *Function) checkDatabase(r *http.Request) (any, error) {
	id, err := dbID(r)
	if err != nil {
		return nil, err
	}
	return f.CheckDatabase(r.Context(), id)
}
