package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/tabular"
)

// LicenceBoard is FP-118's answer: per category the licences (valid,
// expired) and the entities holding them, per county, and issues per year.
type LicenceBoard struct {
	GeneratedAt time.Time         `json:"generated_at"`
	RefreshedAt *time.Time        `json:"refreshed_at"`
	District    string            `json:"district,omitempty"`
	Category    string            `json:"category,omitempty"`
	Notice      string            `json:"notice,omitempty"`
	Options     []Option          `json:"options"`
	Totals      LicenceCount      `json:"totals"`
	Categories  []LicenceCount    `json:"categories"`
	Districts   []LicenceCount    `json:"districts"`
	Years       []LicenceYearLine `json:"years"`
}

// LicenceCount is one bar: a category or a county.
type LicenceCount struct {
	Code     string `json:"code,omitempty"`
	Name     string `json:"name,omitempty"`
	Licences int64  `json:"licences"`
	Valid    int64  `json:"valid"`
	Expired  int64  `json:"expired"`
	Entities int64  `json:"entities"`
}

// LicenceYearLine is one category's licences issued per year (the last
// five years, oldest first).
type LicenceYearLine struct {
	Code   string  `json:"code"`
	Name   string  `json:"name"`
	Years  []int   `json:"years"`
	Counts []int64 `json:"counts"`
}

// licenceFilter is the licence board's and lists' query.
type licenceFilter struct {
	scope    auth.Scope
	category string
	status   string
	q        string
}

func parseLicenceFilter(r *http.Request, lists bool) (licenceFilter, string, string, error) {
	s, district, notice, err := topicScope(r)
	if err != nil {
		return licenceFilter{}, "", "", err
	}
	q := r.URL.Query()
	lf := licenceFilter{scope: s, category: q.Get("category"), status: q.Get("status"), q: strings.TrimSpace(q.Get("q"))}
	var fe []errs.FieldError
	if lf.category != "" && !optionKnown(licenceCategories, lf.category) {
		fe = append(fe, errs.FieldError{Field: "category", Message: "许可类别应为 food（食品安全）、drug（药品安全）、special_equipment（特种设备）或 industrial（工业产品）"})
	}
	if lists {
		if _, ok := licenceStatuses[lf.status]; lf.status != "" && !ok {
			fe = append(fe, errs.FieldError{Field: "status", Message: "许可状态应为 valid（有效）、expired（已过期）或 other（其他）"})
		}
		if utf8.RuneCountInString(lf.q) > 50 {
			fe = append(fe, errs.FieldError{Field: "q", Message: "关键词最多 50 个字"})
		}
	}
	return lf, district, notice, errs.Fields(fe)
}

func (f *Function) licenceBoard(r *http.Request) (any, error) {
	lf, district, notice, err := parseLicenceFilter(r, false)
	if err != nil {
		return nil, err
	}
	out := LicenceBoard{GeneratedAt: f.now(), District: district, Category: lf.category, Notice: notice, Options: licenceCategories,
		Categories: []LicenceCount{}, Districts: []LicenceCount{}, Years: []LicenceYearLine{}}
	if notice != "" {
		return out, nil
	}
	ctx := r.Context()
	if out.RefreshedAt, err = topicRefreshed(ctx, f.pool, "licences"); err != nil {
		return nil, err
	}
	thisYear := f.now().In(beijing()).Year()
	if err := licenceCounts(ctx, f.pool, lf, thisYear, &out); err != nil {
		return nil, err
	}
	if out.Totals.Licences == 0 {
		out.Notice = "数据范围内暂无许可备案数据"
	}
	return out, nil
}

func licenceCounts(ctx context.Context, q store.Querier, lf licenceFilter, thisYear int, out *LicenceBoard) error {
	var args []any
	where := lf.scope.Filter("u.district_code", "u.township_code", &args)
	rows, err := q.Query(ctx, `SELECT u.category, u.district_code, u.status, u.year, sum(u.licences)::bigint
		FROM dashboard.licence_rollup u WHERE `+where+` GROUP BY 1, 2, 3, 4`, args...)
	if err != nil {
		return store.Classify(err)
	}
	byCat, byDistrict := map[string]*LicenceCount{}, map[string]*LicenceCount{}
	perYear := map[string]map[int]int64{}
	for _, c := range licenceCategories {
		byCat[c.Code] = &LicenceCount{Code: c.Code, Name: c.Name}
		perYear[c.Code] = map[int]int64{}
	}
	for _, c := range countiesOf(lf.scope) {
		byDistrict[c.Code] = &LicenceCount{Code: c.Code, Name: c.Name}
	}
	add := func(c *LicenceCount, status string, n int64) {
		c.Licences += n
		switch status {
		case "valid":
			c.Valid += n
		case "expired":
			c.Expired += n
		}
	}
	for rows.Next() {
		var cat, d, status string
		var year int
		var n int64
		if err := rows.Scan(&cat, &d, &status, &year, &n); err != nil {
			rows.Close()
			return store.Classify(err)
		}
		if c := byCat[cat]; c != nil {
			add(c, status, n)
			perYear[cat][year] += n
		}
		if lf.category != "" && cat != lf.category {
			continue
		}
		add(&out.Totals, status, n)
		if c := byDistrict[d]; c != nil {
			add(c, status, n)
		}
	}
	if err := rows.Err(); err != nil {
		return store.Classify(err)
	}
	args = args[:0]
	where = lf.scope.Filter("u.district_code", "u.township_code", &args)
	rows, err = q.Query(ctx, `SELECT u.category, u.district_code, sum(u.entities)::bigint FROM dashboard.licence_entities u
		WHERE `+where+` GROUP BY 1, 2`, args...)
	if err != nil {
		return store.Classify(err)
	}
	for rows.Next() {
		var cat, d string
		var n int64
		if err := rows.Scan(&cat, &d, &n); err != nil {
			rows.Close()
			return store.Classify(err)
		}
		if c := byCat[cat]; c != nil {
			c.Entities += n
		}
		// An entity holding licences of two categories counts once in each:
		// the totals and counties add the categories shown.
		if lf.category != "" && cat != lf.category {
			continue
		}
		out.Totals.Entities += n
		if c := byDistrict[d]; c != nil {
			c.Entities += n
		}
	}
	if err := rows.Err(); err != nil {
		return store.Classify(err)
	}
	years := []int{thisYear - 4, thisYear - 3, thisYear - 2, thisYear - 1, thisYear}
	for _, c := range licenceCategories {
		out.Categories = append(out.Categories, *byCat[c.Code])
		if lf.category != "" && c.Code != lf.category {
			continue
		}
		line := LicenceYearLine{Code: c.Code, Name: c.Name, Years: years}
		for _, y := range years {
			line.Counts = append(line.Counts, perYear[c.Code][y])
		}
		out.Years = append(out.Years, line)
	}
	for _, c := range countiesOf(lf.scope) {
		out.Districts = append(out.Districts, *byDistrict[c.Code])
	}
	return nil
}

// LicenceRow is one licence with the entity holding it.
type LicenceRow struct {
	ID           int64   `json:"id"`
	Category     string  `json:"category"`
	CategoryName string  `json:"category_name"`
	RefNo        string  `json:"ref_no"`
	Title        string  `json:"title"`
	Authority    string  `json:"authority"`
	IssuedOn     string  `json:"issued_on"`
	ValidUntil   *string `json:"valid_until"`
	Status       string  `json:"status"`
	CreditCode   string  `json:"credit_code"`
	EntityName   string  `json:"entity_name"`
	DistrictCode string  `json:"district_code"`
	DistrictName string  `json:"district_name"`
}

// LicenceEntity is an entity holding licences of the categories selected.
type LicenceEntity struct {
	CreditCode   string `json:"credit_code"`
	Name         string `json:"name"`
	EntityType   string `json:"entity_type"`
	Status       string `json:"status"`
	DistrictCode string `json:"district_code"`
	DistrictName string `json:"district_name"`
	Licences     int64  `json:"licences"`
	Valid        int64  `json:"valid"`
	Categories   string `json:"categories"`
}

// licenceWhere is the lists' predicate over d (details) and e (entities).
func licenceWhere(lf licenceFilter, args *[]any) string {
	w := []string{`d.kind = 'licence'`, lf.scope.Filter("e.district_code", "e.township_code", args)}
	if lf.category != "" {
		*args = append(*args, lf.category)
		w = append(w, fmt.Sprintf("(%s) = $%d", licenceCategorySQL, len(*args)))
	} else {
		w = append(w, "("+licenceCategorySQL+") <> ''")
	}
	if lf.status != "" {
		*args = append(*args, lf.status)
		w = append(w, fmt.Sprintf("(%s) = $%d", licenceStatusSQL, len(*args)))
	}
	if lf.q != "" {
		*args = append(*args, store.Contains(lf.q), lf.q)
		w = append(w, fmt.Sprintf("(e.name LIKE $%d OR d.ref_no LIKE $%d OR e.credit_code = $%d)", len(*args)-1, len(*args)-1, len(*args)))
	}
	return strings.Join(w, " AND ")
}

func licenceRows(ctx context.Context, q store.Querier, lf licenceFilter, limit, offset int) ([]LicenceRow, int, error) {
	var args []any
	from := ` FROM registry.dashboard_record_details() d JOIN registry.dashboard_entities() e ON e.credit_code = d.credit_code WHERE ` +
		licenceWhere(lf, &args)
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+from, args...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	args = append(args, limit, offset)
	rows, err := q.Query(ctx, `SELECT d.id, `+licenceCategorySQL+`, d.ref_no, d.title, d.authority, d.occurred_on::text,
		d.valid_until::text, d.status, e.credit_code, e.name, e.district_code`+from+
		fmt.Sprintf(` ORDER BY d.occurred_on DESC, d.id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LicenceRow, error) {
		var x LicenceRow
		err := r.Scan(&x.ID, &x.Category, &x.RefNo, &x.Title, &x.Authority, &x.IssuedOn, &x.ValidUntil, &x.Status,
			&x.CreditCode, &x.EntityName, &x.DistrictCode)
		x.CategoryName = optionName(licenceCategories, x.Category)
		x.DistrictName, _ = divisionName(x.DistrictCode)
		return x, err
	})
	return out, total, store.Classify(err)
}

func licenceEntities(ctx context.Context, q store.Querier, lf licenceFilter, limit, offset int) ([]LicenceEntity, int, error) {
	var args []any
	from := ` FROM registry.dashboard_record_details() d JOIN registry.dashboard_entities() e ON e.credit_code = d.credit_code WHERE ` +
		licenceWhere(lf, &args)
	var total int
	if err := q.QueryRow(ctx, `SELECT count(DISTINCT e.credit_code)`+from, args...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	args = append(args, limit, offset)
	rows, err := q.Query(ctx, `SELECT e.credit_code, e.name, e.entity_type, e.status, e.district_code, count(*),
		count(*) FILTER (WHERE d.status = '有效'), string_agg(DISTINCT `+licenceCategorySQL+`, ',')`+from+
		fmt.Sprintf(` GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, 1 LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LicenceEntity, error) {
		var x LicenceEntity
		var cats string
		err := r.Scan(&x.CreditCode, &x.Name, &x.EntityType, &x.Status, &x.DistrictCode, &x.Licences, &x.Valid, &cats)
		var names []string
		for _, c := range strings.Split(cats, ",") {
			names = append(names, optionName(licenceCategories, c))
		}
		x.Categories = strings.Join(names, "、")
		x.DistrictName, _ = divisionName(x.DistrictCode)
		return x, err
	})
	return out, total, store.Classify(err)
}

func (f *Function) licenceItems(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	lf, _, notice, err := parseLicenceFilter(r, true)
	if err != nil {
		return nil, err
	}
	if notice != "" {
		return map[string]any{"items": []LicenceRow{}, "total": 0, "page": page.Page, "page_size": page.Size, "notice": notice}, nil
	}
	rows, total, err := licenceRows(r.Context(), f.pool, lf, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(rows, total, page), nil
}

func (f *Function) licenceHolders(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	lf, _, notice, err := parseLicenceFilter(r, true)
	if err != nil {
		return nil, err
	}
	if notice != "" {
		return map[string]any{"items": []LicenceEntity{}, "total": 0, "page": page.Page, "page_size": page.Size, "notice": notice}, nil
	}
	rows, total, err := licenceEntities(r.Context(), f.pool, lf, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(rows, total, page), nil
}

func (f *Function) licenceExport(w http.ResponseWriter, r *http.Request) {
	if err := f.writeLicenceExport(w, r); err != nil {
		httpx.Fail(w, r, err)
	}
}

func (f *Function) writeLicenceExport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	format, err := tabular.ParseFormat(q.Get("format"), tabular.XLSX)
	if err != nil {
		return err
	}
	what := q.Get("what")
	if what == "" {
		what = "licences"
	}
	if what != "licences" && what != "entities" {
		return errs.Fields([]errs.FieldError{{Field: "what", Message: "导出内容应为 licences（许可明细）或 entities（相关主体）"}})
	}
	lf, _, notice, err := parseLicenceFilter(r, true)
	if err != nil {
		return err
	}
	if notice != "" {
		return errs.New(errs.Forbidden, notice)
	}
	ctx := r.Context()
	var t tabular.Table
	var name string
	var total int
	if what == "licences" {
		var rows []LicenceRow
		if rows, total, err = licenceRows(ctx, f.pool, lf, f.cfg.MaxExportRows, 0); err != nil {
			return err
		}
		name = "许可备案明细"
		t.Header = []string{"许可类别", "许可证号", "许可名称", "发证机关", "发证日期", "有效期至", "状态", "统一社会信用代码", "主体名称", "区县"}
		for _, x := range rows {
			until := ""
			if x.ValidUntil != nil {
				until = *x.ValidUntil
			}
			t.Rows = append(t.Rows, []any{x.CategoryName, x.RefNo, x.Title, x.Authority, x.IssuedOn, until, x.Status, x.CreditCode, x.EntityName, x.DistrictName})
		}
	} else {
		var rows []LicenceEntity
		if rows, total, err = licenceEntities(ctx, f.pool, lf, f.cfg.MaxExportRows, 0); err != nil {
			return err
		}
		name = "许可备案相关主体"
		t.Header = []string{"统一社会信用代码", "主体名称", "主体类型", "经营状态", "区县", "许可数", "有效许可数", "许可类别"}
		for _, x := range rows {
			t.Rows = append(t.Rows, []any{x.CreditCode, x.Name, entityTypes[x.EntityType], statuses[x.Status], x.DistrictName, x.Licences, x.Valid, x.Categories})
		}
	}
	if total > f.cfg.MaxExportRows {
		return errs.New(errs.Invalid, fmt.Sprintf("共 %d 条，超过单次导出上限 %d 条，请增加条件缩小范围", total, f.cfg.MaxExportRows))
	}
	if err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(ctx, tx, Source, auditlog.ActorOf(r), auditlog.Operation{At: f.now(),
			Action: "dashboard.topic.export", ObjectType: "topic_board", ObjectID: "licences",
			After: map[string]any{"what": what, "format": format, "rows": len(t.Rows), "category": lf.category, "status": lf.status, "q": lf.q}})
	}); err != nil {
		return err
	}
	return tabular.Serve(w, name, format, t)
}
