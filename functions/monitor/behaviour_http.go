package monitor

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/tabular"
)

// PermBehaviour is the permission resource of the behaviour data (FP-86):
// view (search, and one's own saved searches), export.
const PermBehaviour = "monitor.behaviour"

// ScheduleTask is the PingSource task (monitor-schedule) that runs the
// saved searches falling due and asks for the due stream checks.
const ScheduleTask = "monitor-schedule"

var behaviourParams = []string{"q", "kind", "platform", "district", "entity", "updated_from", "updated_to", "price_min", "price_max", "no_licence"}

// behaviourRoutes serves FP-86 经营行为数据.
func (f *Function) behaviourRoutes(m *httpx.Mux) {
	// FP-86: keyword search over site content and shop products with conditions.
	m.Handle("GET /monitor/v1/behaviour", httpx.Endpoint(f.searchBehaviour), auth.Requires(PermBehaviour, "view"), httpx.NoEntity(),
		httpx.Params(append(behaviourParams, httpx.PageParams...)...))
	m.HandleFunc("GET /monitor/v1/behaviour/export", f.exportBehaviour, auth.Requires(PermBehaviour, "export"), httpx.NoEntity(),
		httpx.Params(append(behaviourParams, "format")...))
	// FP-86: saved searches, run by hand or on a schedule.
	m.Handle("GET /monitor/v1/behaviour/searches", httpx.Endpoint(f.listSaved), auth.Requires(PermBehaviour, "view"), httpx.NoEntity())
	m.Handle("POST /monitor/v1/behaviour/searches", httpx.Body(f.saveSearch), auth.Requires(PermBehaviour, "view"), httpx.NoEntity())
	m.Handle("DELETE /monitor/v1/behaviour/searches/{id}", httpx.Endpoint(f.deleteSearch), auth.Requires(PermBehaviour, "view"), httpx.NoEntity())
	m.Handle("POST /monitor/v1/behaviour/searches/{id}/run", httpx.Endpoint(f.runSearch), auth.Requires(PermBehaviour, "view"), httpx.NoEntity())
	m.Handle("GET /monitor/v1/behaviour/searches/{id}/runs", httpx.Endpoint(f.searchRuns), auth.Requires(PermBehaviour, "view"), httpx.NoEntity())
}

func (f *Function) searchBehaviour(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	fl, err := behaviourFilterOf(r.URL.Query())
	if err != nil {
		return nil, err
	}
	hits, total, err := searchBehaviour(r.Context(), f.pool, fl, scopeOf(r), time.Time{}, page, maxCount)
	if err != nil {
		return nil, err
	}
	return HitPage{PageOf: httpx.NewPage(hits, min(total, maxCount), page), TotalExact: total <= maxCount}, nil
}

// exportBehaviour answers the hits as XLSX or CSV, up to MaxExport rows.
func (f *Function) exportBehaviour(w http.ResponseWriter, r *http.Request) {
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	fl, err := behaviourFilterOf(r.URL.Query())
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	hits, _, err := searchBehaviour(r.Context(), f.pool, fl, scopeOf(r), time.Time{}, httpx.Page{Page: 1, Size: f.cfg.MaxExport}, 1)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	t := tabular.Table{Header: []string{"对象类型", "名称", "价格", "内容摘要", "地址", "主体名称", "统一社会信用代码", "区县", "平台类型", "亮照亮证", "更新时间"}}
	for _, h := range hits {
		var price any = ""
		if h.Price != nil {
			price = *h.Price
		}
		lic := "已公示"
		if !h.HasLicence {
			lic = "未公示"
		}
		t.Rows = append(t.Rows, []any{objectKinds[h.Kind], h.Name, price, h.Snippet, h.URL, h.EntityName, h.CreditCode, h.District, h.Platform, lic,
			h.UpdatedAt.In(cst).Format("2006-01-02 15:04")})
	}
	if err := tabular.Serve(w, "经营行为数据_"+f.now().Format("20060102150405"), format, t); err != nil {
		f.log.WarnContext(r.Context(), "export cut short", "err", err)
	}
}

// SearchInput saves a search: its name, conditions and schedule.
type SearchInput struct {
	Name          string          `json:"name"`
	Conditions    BehaviourFilter `json:"conditions"`
	IntervalHours int             `json:"interval_hours"`
}

func (f *Function) saveSearch(r *http.Request, in SearchInput) (any, error) {
	p, _ := auth.FromContext(r.Context())
	in.Name = strings.TrimSpace(in.Name)
	var fe []errs.FieldError
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 50 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写检索名称（不超过 50 个字）"})
	}
	if in.IntervalHours < 0 || in.IntervalHours > 720 {
		fe = append(fe, errs.FieldError{Field: "interval_hours", Message: "定时检索间隔应在 0（不定时）至 720 小时之间"})
	}
	if err := in.Conditions.Validate(); err != nil {
		return nil, err
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	now := f.now()
	s := SavedSearch{OwnerID: p.UserID, OwnerName: p.Username, Name: in.Name, Conditions: in.Conditions, Scope: p.Scope,
		IntervalHours: in.IntervalHours, CreatedAt: now}
	if in.IntervalHours > 0 {
		next := now.Add(time.Duration(in.IntervalHours) * time.Hour)
		s.NextRunAt = &next
	}
	err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		var err error
		if s, err = insertSaved(r.Context(), tx, s); err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{Action: "monitor.search.create",
			ObjectType: "monitor.saved_search", ObjectID: itoa(s.ID), After: s})
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(s, ""), nil
}

func (f *Function) listSaved(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	out, err := listSaved(r.Context(), f.pool, p.UserID)
	if out == nil {
		out = []SavedSearch{}
	}
	return out, err
}

func (f *Function) deleteSearch(r *http.Request) (any, error) {
	id, err := pathID(r, "检索不存在")
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(r.Context())
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		s, err := ownSaved(r.Context(), tx, id, p.UserID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(r.Context(), `DELETE FROM monitor.saved_searches WHERE id = $1`, id); err != nil {
			return store.Classify(err)
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{Action: "monitor.search.delete",
			ObjectType: "monitor.saved_search", ObjectID: itoa(id), Before: s})
	})
	return httpx.NoContent(), err
}

// runSearch runs the owner's search now, in their present scope.
func (f *Function) runSearch(r *http.Request) (any, error) {
	id, err := pathID(r, "检索不存在")
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(r.Context())
	var run SearchRun
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		s, err := ownSaved(r.Context(), tx, id, p.UserID)
		if err != nil {
			return err
		}
		run, err = runSaved(r.Context(), tx, s, p.Scope, "manual", f.now())
		return err
	})
	return run, err
}

func (f *Function) searchRuns(r *http.Request) (any, error) {
	id, err := pathID(r, "检索不存在")
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(r.Context())
	var runs []SearchRun
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		if _, err := ownSaved(r.Context(), tx, id, p.UserID); err != nil {
			return err
		}
		runs, err = listRuns(r.Context(), tx, id)
		return err
	})
	if runs == nil {
		runs = []SearchRun{}
	}
	return runs, err
}

// receiveTick runs the saved searches that are due and asks for the due
// stream checks, once per tick (a redelivered tick does nothing again); an
// owner is told of new hits.
func (f *Function) receiveTick(ctx context.Context, e event.Event) error {
	data, err := events.Decode[events.PingData](e)
	if err != nil || data["task"] != ScheduleTask {
		return err
	}
	_, err = outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
		n, err := f.RunDueSearches(ctx, tx)
		if err != nil {
			return err
		}
		k, err := f.RequestDueChecks(ctx, tx)
		if n > 0 || k > 0 {
			f.log.InfoContext(ctx, "monitor schedule", "searches", n, "stream_checks", k)
		}
		return err
	})
	return err
}

// RunDueSearches runs, in tx, every scheduled search whose time has come,
// each in the scope its owner saved it with (FP-86), and posts a notice to
// the owner for each run with new hits. Rows another instance holds are
// skipped: it runs them.
func (f *Function) RunDueSearches(ctx context.Context, tx pgx.Tx) (int, error) {
	now := f.now()
	rows, err := tx.Query(ctx, `SELECT `+savedColumns+` FROM monitor.saved_searches WHERE next_run_at <= $1
		ORDER BY next_run_at LIMIT 200 FOR UPDATE SKIP LOCKED`, now)
	if err != nil {
		return 0, store.Classify(err)
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SavedSearch, error) { return scanSaved(r) })
	if err != nil {
		return 0, store.Classify(err)
	}
	for _, s := range due {
		run, err := runSaved(ctx, tx, s, s.Scope, "schedule", now)
		if err != nil {
			return 0, err
		}
		if run.NewHits == 0 {
			continue
		}
		if err := notify.Post(ctx, tx, Source, notify.Notice{Title: "定时检索“" + s.Name + "”有 " + strconv.Itoa(run.NewHits) + " 条新结果",
			Body: "共命中 " + strconv.Itoa(run.Hits) + " 条经营行为数据，其中自上次检索以来新增 " + strconv.Itoa(run.NewHits) + " 条。",
			Kind: "monitor_saved_search", Link: "/console/#/monitor/behaviour?search=" + itoa(s.ID), UserIDs: []string{s.OwnerID},
			Subject: "saved-search/" + itoa(s.ID), At: now}); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}
