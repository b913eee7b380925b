package dashboard

import (
	_ "embed"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/tabular"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/dashboard/v1/openapi.yaml", openapi }

// PermKPI is the permission resource of the KPI board (actions view,
// manage, export), listed in shared/auth's catalogue.
const PermKPI = "dashboard.kpi"

// EmptyScopeNotice is what every board answer carries when the caller's
// data scope sees nothing, so the page shows it instead of a zero chart.
const EmptyScopeNotice = "您的数据范围为空，没有可显示的指标数据，请联系管理员分配数据范围"

// Handler serves the API behind token verification. Every route declares
// who may call it and what entity data it touches (the conformance tests
// read these declarations).
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-110: the two-level category tree.
	m.Handle("GET /dashboard/v1/categories", httpx.Endpoint(f.listCategories), auth.Requires(PermKPI, "view"), httpx.NoEntity())
	// FP-111: the back office maintains categories.
	m.Handle("POST /dashboard/v1/categories", httpx.Body(f.postCategory), auth.Requires(PermKPI, "manage"), httpx.NoEntity())
	// FP-110, FP-112: the board, its values in the caller's scope, sorted by name, type or value.
	m.Handle("GET /dashboard/v1/indicators", httpx.Endpoint(f.board), auth.Requires(PermKPI, "view"), httpx.NoEntity(),
		httpx.Params("category", "sort", "order", "all"))
	// FP-111, FP-113: add and edit indicators, show or hide them, set wrapping.
	m.Handle("POST /dashboard/v1/indicators", httpx.Body(f.postIndicator), auth.Requires(PermKPI, "manage"), httpx.NoEntity())
	m.Handle("PUT /dashboard/v1/indicators/{id}", httpx.Body(f.putIndicator), auth.Requires(PermKPI, "manage"), httpx.NoEntity())
	m.Handle("GET /dashboard/v1/indicators/{id}", httpx.Endpoint(f.getIndicator), auth.Requires(PermKPI, "view"), httpx.NoEntity())
	// FP-114, FP-130: an advanced indicator's counts per county with ranking, and its roster.
	m.Handle("GET /dashboard/v1/indicators/{id}/counties", httpx.Endpoint(f.counties), auth.Requires(PermKPI, "view"),
		httpx.NoEntity(), httpx.Params("order"))
	m.Handle("GET /dashboard/v1/indicators/{id}/roster", httpx.Endpoint(f.roster), auth.Requires(PermKPI, "view"),
		httpx.EntityListing(), httpx.Params(httpx.PageParams...))
	// FP-114: export of the roster or the county ranking (CSV/XLSX).
	m.Handle("GET /dashboard/v1/indicators/{id}/export", http.HandlerFunc(f.export), auth.Requires(PermKPI, "export"),
		httpx.EntityListing(), httpx.Params("what", "format", "order"))
	// FP-101: the big screen's data and its schematic district map.
	m.Handle("GET /dashboard/v1/screen", httpx.Endpoint(f.screen), auth.Requires(PermKPI, "view"), httpx.NoEntity(), httpx.Params("district"))
	m.Handle("GET /dashboard/v1/map", http.HandlerFunc(f.districtMap), auth.Requires(PermKPI, "view"), httpx.NoEntity())
	f.reportRoutes(m)
	f.geoRoutes(m)
	f.topicRoutes(m)
	f.anomalyRoutes(m)
	return m
}

// CategoryInput is a new category; ParentID makes it a second-level one.
type CategoryInput struct {
	ParentID *int64 `json:"parent_id"`
	Name     string `json:"name"`
	Sort     int    `json:"sort"`
}

// IndicatorInput is what the back office sends to add or edit an indicator.
type IndicatorInput struct {
	CategoryID int64       `json:"category_id"`
	Name       string      `json:"name"`
	Kind       string      `json:"kind"`
	Unit       string      `json:"unit"`
	Conditions []Condition `json:"conditions"`
	Visible    *bool       `json:"visible"`
	Wrap       *bool       `json:"wrap"`
	Sort       int         `json:"sort"`
}

func (in *IndicatorInput) normalize() error {
	in.Name, in.Unit = strings.TrimSpace(in.Name), strings.TrimSpace(in.Unit)
	var fe []errs.FieldError
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写指标名称"})
	case n > 50:
		fe = append(fe, errs.FieldError{Field: "name", Message: "指标名称最多 50 个字"})
	}
	if in.Kind != "basic" && in.Kind != "advanced" {
		fe = append(fe, errs.FieldError{Field: "kind", Message: "指标类型应为 basic（基础）或 advanced（高级）"})
	}
	if in.CategoryID <= 0 {
		fe = append(fe, errs.FieldError{Field: "category_id", Message: "请选择指标分类"})
	}
	if in.Unit == "" {
		in.Unit = "户"
	}
	if utf8.RuneCountInString(in.Unit) > 10 {
		fe = append(fe, errs.FieldError{Field: "unit", Message: "单位最多 10 个字"})
	}
	if in.Kind == "advanced" && len(in.Conditions) < 2 {
		fe = append(fe, errs.FieldError{Field: "conditions", Message: "高级指标至少组合两个条件"})
	}
	if in.Conditions == nil {
		in.Conditions = []Condition{}
	}
	if in.Visible == nil {
		t := true
		in.Visible = &t
	}
	if in.Wrap == nil {
		w := false
		in.Wrap = &w
	}
	if err := errs.Fields(fe); err != nil {
		return err
	}
	return validateConditions(in.Conditions)
}

func (f *Function) listCategories(r *http.Request) (any, error) {
	cs, err := listCategories(r.Context(), f.pool)
	return map[string]any{"items": cs}, err
}

func (f *Function) postCategory(r *http.Request, in CategoryInput) (any, error) {
	in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 30 {
		return nil, errs.Fields([]errs.FieldError{{Field: "name", Message: "分类名称应为 1–30 个字"}})
	}
	c, err := f.createCategory(r.Context(), in, auditlog.ActorOf(r))
	if err != nil {
		return nil, err
	}
	return httpx.Created(c, ""), nil
}

func (f *Function) postIndicator(r *http.Request, in IndicatorInput) (any, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	it, err := f.saveIndicator(r.Context(), 0, in, auditlog.ActorOf(r))
	if err != nil {
		return nil, err
	}
	return httpx.Created(it, ""), nil
}

func (f *Function) putIndicator(r *http.Request, in IndicatorInput) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if err := in.normalize(); err != nil {
		return nil, err
	}
	return f.saveIndicator(r.Context(), id, in, auditlog.ActorOf(r))
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.New(errs.NotFound, "指标不存在")
	}
	return id, nil
}

func principal(r *http.Request) *auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// Board is the KPI board's answer.
type Board struct {
	Items  []Indicator `json:"items"`
	Notice string      `json:"notice,omitempty"`
}

func (f *Function) board(r *http.Request) (any, error) {
	q := r.URL.Query()
	p := principal(r)
	var category int64
	if c := q.Get("category"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return nil, errs.Fields([]errs.FieldError{{Field: "category", Message: "分类编号无效"}})
		}
		category = n
	}
	sortBy, order := q.Get("sort"), q.Get("order")
	if !slices.Contains([]string{"", "name", "type", "value"}, sortBy) {
		return nil, errs.Fields([]errs.FieldError{{Field: "sort", Message: "排序字段应为 name（名称）、type（类型）或 value（数值）"}})
	}
	if !slices.Contains([]string{"", "asc", "desc"}, order) {
		return nil, errs.Fields([]errs.FieldError{{Field: "order", Message: "排序方向应为 asc 或 desc"}})
	}
	all := q.Get("all") == "true"
	if all && !p.Can(PermKPI, "manage") {
		return nil, errs.New(errs.Forbidden, "只有指标管理人员可以查看隐藏的指标")
	}
	items, err := listIndicators(r.Context(), f.pool, category, all)
	if err != nil {
		return nil, err
	}
	b := Board{Items: items}
	if p.Scope.IsEmpty() {
		b.Notice = EmptyScopeNotice
	} else {
		for i := range b.Items {
			n, rolled, err := count(r.Context(), f.pool, p.Scope, b.Items[i].Conditions)
			if err != nil {
				return nil, err
			}
			b.Items[i].Value, b.Items[i].FromRollup = &n, rolled
		}
	}
	sortIndicators(b.Items, sortBy, order == "desc")
	if b.Items == nil {
		b.Items = []Indicator{}
	}
	return b, nil
}

func sortIndicators(items []Indicator, by string, desc bool) {
	cmp := func(a, b Indicator) int {
		switch by {
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "type":
			return strings.Compare(a.Kind, b.Kind)
		case "value":
			var x, y int64
			if a.Value != nil {
				x = *a.Value
			}
			if b.Value != nil {
				y = *b.Value
			}
			return int(min(max(x-y, -1), 1))
		}
		return a.Sort - b.Sort
	}
	slices.SortStableFunc(items, func(a, b Indicator) int {
		if desc {
			return cmp(b, a)
		}
		return cmp(a, b)
	})
}

func (f *Function) getIndicator(r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	it, err := getIndicator(r.Context(), f.pool, id)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	if !it.Visible && !p.Can(PermKPI, "manage") {
		return nil, errs.New(errs.NotFound, "指标不存在")
	}
	if !p.Scope.IsEmpty() {
		n, rolled, err := count(r.Context(), f.pool, p.Scope, it.Conditions)
		if err != nil {
			return nil, err
		}
		it.Value, it.FromRollup = &n, rolled
	}
	return it, nil
}

// indicatorFor loads a visible indicator (hidden ones for managers).
func (f *Function) indicatorFor(r *http.Request) (Indicator, error) {
	id, err := pathID(r)
	if err != nil {
		return Indicator{}, err
	}
	it, err := getIndicator(r.Context(), f.pool, id)
	if err == nil && !it.Visible && !principal(r).Can(PermKPI, "manage") {
		err = errs.New(errs.NotFound, "指标不存在")
	}
	return it, err
}

// Counties is the per-county ranking of an indicator.
type Counties struct {
	Indicator string        `json:"indicator"`
	Order     string        `json:"order"`
	Items     []CountyCount `json:"items"`
	Total     int64         `json:"total"`
	Notice    string        `json:"notice,omitempty"`
}

func (f *Function) countyRanking(r *http.Request) (Counties, error) {
	order := r.URL.Query().Get("order")
	if order == "" {
		order = "desc"
	}
	if order != "asc" && order != "desc" {
		return Counties{}, errs.Fields([]errs.FieldError{{Field: "order", Message: "排名方向应为 asc（升序）或 desc（降序）"}})
	}
	it, err := f.indicatorFor(r)
	if err != nil {
		return Counties{}, err
	}
	out := Counties{Indicator: it.Name, Order: order, Items: []CountyCount{}}
	p := principal(r)
	if p.Scope.IsEmpty() {
		out.Notice = EmptyScopeNotice
		return out, nil
	}
	items, err := countByCounty(r.Context(), f.pool, p.Scope, it.Conditions, true)
	if err != nil {
		return out, err
	}
	rankCounties(items, order == "desc")
	for _, c := range items {
		out.Total += c.Count
	}
	out.Items = append(out.Items, items...)
	if len(items) == 0 {
		out.Notice = "数据范围内没有符合条件的主体"
	}
	return out, nil
}

// rankCounties orders by count and gives equal counts the same rank
// (1, 2, 2, 4), with the code as a stable tie-break.
func rankCounties(items []CountyCount, desc bool) {
	slices.SortFunc(items, func(a, b CountyCount) int {
		if a.Count != b.Count {
			if (a.Count > b.Count) == desc {
				return -1
			}
			return 1
		}
		return strings.Compare(a.DistrictCode, b.DistrictCode)
	})
	for i := range items {
		if d, ok := codes.Divisions().Lookup(items[i].DistrictCode); ok {
			items[i].DistrictName = d.Name
		}
		items[i].Rank = i + 1
		if i > 0 && items[i].Count == items[i-1].Count {
			items[i].Rank = items[i-1].Rank
		}
	}
}

func (f *Function) counties(r *http.Request) (any, error) { return f.countyRanking(r) }

func (f *Function) roster(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	it, err := f.indicatorFor(r)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	if p.Scope.IsEmpty() {
		return map[string]any{"items": []RosterRow{}, "total": 0, "page": page.Page, "page_size": page.Size, "notice": EmptyScopeNotice}, nil
	}
	rows, total, err := roster(r.Context(), f.pool, p.Scope, it.Conditions, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	nameDistricts(rows)
	return httpx.NewPage(rows, total, page), nil
}

func nameDistricts(rows []RosterRow) {
	for i := range rows {
		if d, ok := codes.Divisions().Lookup(rows[i].DistrictCode); ok {
			rows[i].DistrictName = d.Name
		}
	}
}

func (f *Function) export(w http.ResponseWriter, r *http.Request) {
	if err := f.writeExport(w, r); err != nil {
		httpx.Fail(w, r, err)
	}
}

func (f *Function) writeExport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	format, err := tabular.ParseFormat(q.Get("format"), tabular.XLSX)
	if err != nil {
		return err
	}
	what := q.Get("what")
	if what == "" {
		what = "roster"
	}
	if what != "roster" && what != "counties" {
		return errs.Fields([]errs.FieldError{{Field: "what", Message: "导出内容应为 roster（名单）或 counties（区县排名）"}})
	}
	p := principal(r)
	if p.Scope.IsEmpty() {
		return errs.New(errs.Forbidden, EmptyScopeNotice)
	}
	var t tabular.Table
	var name string
	if what == "counties" {
		c, err := f.countyRanking(r)
		if err != nil {
			return err
		}
		name = c.Indicator + "_区县排名"
		t.Header = []string{"排名", "区县代码", "区县", "数量"}
		for _, x := range c.Items {
			t.Rows = append(t.Rows, []any{x.Rank, x.DistrictCode, x.DistrictName, x.Count})
		}
	} else {
		it, err := f.indicatorFor(r)
		if err != nil {
			return err
		}
		rows, total, err := roster(r.Context(), f.pool, p.Scope, it.Conditions, f.cfg.MaxExportRows, 0)
		if err != nil {
			return err
		}
		if total > f.cfg.MaxExportRows {
			return errs.New(errs.Invalid, fmt.Sprintf("名单共 %d 条，超过单次导出上限 %d 条，请增加条件缩小范围", total, f.cfg.MaxExportRows))
		}
		nameDistricts(rows)
		name = it.Name + "_名单"
		t.Header = []string{"统一社会信用代码", "名称", "主体类型", "区县", "乡镇（街道）代码", "行业代码", "经营状态", "成立日期", "注册资本（万元）"}
		for _, x := range rows {
			t.Rows = append(t.Rows, []any{x.CreditCode, x.Name, entityTypes[x.EntityType], x.DistrictName, x.TownshipCode,
				x.IndustryCode, statuses[x.Status], x.EstablishedOn, x.RegisteredCapital})
		}
	}
	// The export is recorded before it is served: an export nobody can
	// account for is what the audit exists to prevent.
	if err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{At: f.now(),
			Action: "dashboard.indicator.export", ObjectType: "kpi_indicator", ObjectID: r.PathValue("id"),
			After: map[string]any{"what": what, "format": format, "rows": len(t.Rows)}})
	}); err != nil {
		return err
	}
	return tabular.Serve(w, name, format, t)
}
