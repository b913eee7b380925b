package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Dimensions a topic report breaks its numbers down by (FP-121).
var reportDimensions = map[string]string{
	"district":    "区县",
	"entity_type": "主体类型",
	"status":      "经营状态",
	"record_kind": "信用记录类别",
}

var dimensionOrder = []string{"district", "entity_type", "status", "record_kind"}

var periodNames = map[string]string{"day": "日报", "week": "周报", "month": "月报"}

// Report is a custom topic report's definition.
type Report struct {
	ID         int64     `json:"id"`
	Title      string    `json:"title"`
	Dimensions []string  `json:"dimensions"`
	Districts  []string  `json:"districts"`
	Period     string    `json:"period"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	Subscribed bool      `json:"subscribed"`
}

// ReportInput is what the back office sends to define a report.
type ReportInput struct {
	Title      string   `json:"title"`
	Dimensions []string `json:"dimensions"`
	Districts  []string `json:"districts"`
	Period     string   `json:"period"`
}

func (in *ReportInput) normalize() error {
	in.Title = strings.TrimSpace(in.Title)
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(in.Title); n == 0 || n > 50 {
		fe = append(fe, errs.FieldError{Field: "title", Message: "报告标题应为 1–50 个字"})
	}
	if len(in.Dimensions) == 0 {
		fe = append(fe, errs.FieldError{Field: "dimensions", Message: "请至少选择一个统计维度"})
	}
	seen := map[string]bool{}
	for _, d := range in.Dimensions {
		if _, ok := reportDimensions[d]; !ok {
			fe = append(fe, errs.FieldError{Field: "dimensions", Message: fmt.Sprintf("不支持的统计维度“%s”", d)})
		}
		seen[d] = true
	}
	// Kept in one fixed order, so the PDF's sections do not depend on clicks.
	in.Dimensions = slices.DeleteFunc(slices.Clone(dimensionOrder), func(d string) bool { return !seen[d] })
	for _, d := range in.Districts {
		if c, ok := codes.Divisions().Lookup(d); !ok || c.Level != codes.LevelCounty {
			fe = append(fe, errs.FieldError{Field: "districts", Message: fmt.Sprintf("区县代码“%s”不是石家庄市的区县", d)})
		}
	}
	if in.Districts == nil {
		in.Districts = []string{}
	}
	slices.Sort(in.Districts)
	in.Districts = slices.Compact(in.Districts)
	if _, ok := periodNames[in.Period]; !ok {
		fe = append(fe, errs.FieldError{Field: "period", Message: "报告周期应为 day（日报）、week（周报）或 month（月报）"})
	}
	return errs.Fields(fe)
}

// narrow is the reader's scope cut to the report's districts: a report
// never widens anybody's scope, it can only look at part of it.
func narrow(s auth.Scope, districts []string) auth.Scope {
	if len(districts) == 0 || s.IsEmpty() {
		return s
	}
	out := auth.Scope{Kind: auth.ScopeCustom, Districts: []string{}, Townships: []string{}}
	for _, d := range districts {
		if s.Kind == auth.ScopeAll || slices.Contains(s.Districts, d) {
			out.Districts = append(out.Districts, d)
		}
	}
	for _, t := range s.Townships {
		if len(t) >= 6 && slices.Contains(districts, t[:6]) {
			out.Townships = append(out.Townships, t)
			if !slices.Contains(out.Districts, t[:6]) {
				out.Districts = append(out.Districts, t[:6])
			}
		}
	}
	return out
}

// beijing is the time zone in which periods begin and end.
func beijing() *time.Location { return time.FixedZone("CST", 8*3600) }

// lastPeriod is the last complete period before now: yesterday, last
// week (Monday to Sunday) or last month, as dates in Beijing time.
func lastPeriod(period string, now time.Time) (from, to time.Time) {
	d := now.In(beijing())
	today := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case "week":
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		return monday.AddDate(0, 0, -7), monday.AddDate(0, 0, -1)
	case "month":
		first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
		return first.AddDate(0, -1, 0), first.AddDate(0, 0, -1)
	default:
		return today.AddDate(0, 0, -1), today.AddDate(0, 0, -1)
	}
}

// Breakdown is one dimension's numbers: the stock now and the period's flow.
type Breakdown struct {
	Dimension string     `json:"dimension"`
	Title     string     `json:"title"`
	Rows      []DimCount `json:"rows"`
}

// DimCount is one value of a dimension.
type DimCount struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Stock  int64  `json:"stock"`  // entities now (for record_kind: entities having such a record)
	Period int64  `json:"period"` // registered in the period (for record_kind: records in the period)
}

// NewEntity is one line of the report's roster of the period's registrations.
type NewEntity struct {
	CreditCode   string
	Name         string
	EntityType   string
	DistrictName string
	Established  string
}

// ReportData is everything a report prints, in one reader's scope.
type ReportData struct {
	Report      Report
	Scope       auth.Scope
	From, To    time.Time
	GeneratedAt time.Time
	Notice      string // an empty scope or a period without data, said plainly
	Stock       int64
	NewInPeriod int64
	Breakdowns  []Breakdown
	Roster      []NewEntity // every registration of the period: no 2 000-row cap
}

// reportData gathers a report in scope s over [from, to].
func reportData(ctx context.Context, q store.Querier, r Report, s auth.Scope, from, to, now time.Time) (ReportData, error) {
	d := ReportData{Report: r, Scope: narrow(s, r.Districts), From: from, To: to, GeneratedAt: now}
	if d.Scope.IsEmpty() {
		d.Notice = EmptyScopeNotice
		return d, nil
	}
	for _, dim := range r.Dimensions {
		b, err := breakdown(ctx, q, dim, d.Scope, from, to)
		if err != nil {
			return d, err
		}
		d.Breakdowns = append(d.Breakdowns, b)
	}
	if err := stockAndNew(ctx, q, d.Scope, from, to, &d); err != nil {
		return d, err
	}
	var args []any
	where := d.Scope.Filter("e.district_code", "e.township_code", &args)
	args = append(args, from, to)
	rows, err := q.Query(ctx, `SELECT e.credit_code, e.name, e.entity_type, e.district_code, e.established_on::text
		FROM registry.dashboard_entities() e WHERE `+where+` AND e.established_on BETWEEN $`+itoa(len(args)-1)+` AND $`+itoa(len(args))+`
		ORDER BY e.established_on, e.credit_code`, args...)
	if err != nil {
		return d, store.Classify(err)
	}
	d.Roster, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (NewEntity, error) {
		var x NewEntity
		var district string
		err := r.Scan(&x.CreditCode, &x.Name, &x.EntityType, &district, &x.Established)
		x.EntityType = entityTypes[x.EntityType]
		x.DistrictName = district
		if c, ok := codes.Divisions().Lookup(district); ok {
			x.DistrictName = c.Name
		}
		return x, err
	})
	if err != nil {
		return d, store.Classify(err)
	}
	if d.NewInPeriod == 0 && len(d.Roster) == 0 && periodRecords(d) == 0 {
		d.Notice = fmt.Sprintf("%s至%s期间，数据范围内没有新登记的主体，也没有新的信用记录", from.Format("2006年1月2日"), to.Format("2006年1月2日"))
	}
	return d, nil
}

func periodRecords(d ReportData) int64 {
	var n int64
	for _, b := range d.Breakdowns {
		if b.Dimension == "record_kind" {
			for _, x := range b.Rows {
				n += x.Period
			}
		}
	}
	return n
}

func stockAndNew(ctx context.Context, q store.Querier, s auth.Scope, from, to time.Time, d *ReportData) error {
	var args []any
	where := s.Filter("u.district_code", "u.township_code", &args)
	if err := q.QueryRow(ctx, `SELECT coalesce(sum(u.entities), 0)::bigint FROM dashboard.rollup u WHERE `+where, args...).Scan(&d.Stock); err != nil {
		return store.Classify(err)
	}
	args = args[:0]
	where = s.Filter("e.district_code", "e.township_code", &args)
	args = append(args, from, to)
	err := q.QueryRow(ctx, `SELECT count(*) FROM registry.dashboard_entities() e WHERE `+where+
		` AND e.established_on BETWEEN $`+itoa(len(args)-1)+` AND $`+itoa(len(args)), args...).Scan(&d.NewInPeriod)
	return store.Classify(err)
}

// breakdown is one dimension: the stock from the rollups, the period's
// registrations (or records) from the published read functions, which
// carry the dates the rollups do not.
func breakdown(ctx context.Context, q store.Querier, dim string, s auth.Scope, from, to time.Time) (Breakdown, error) {
	b := Breakdown{Dimension: dim, Title: reportDimensions[dim], Rows: []DimCount{}}
	var stockSQL, periodSQL string
	var sargs, pargs []any
	if dim == "record_kind" {
		stockSQL = `SELECT u.kind, sum(u.entities)::bigint FROM dashboard.record_rollup u WHERE ` +
			s.Filter("u.district_code", "u.township_code", &sargs) + ` AND u.kind <> '' GROUP BY 1`
		periodSQL = `SELECT r.kind, count(*) FROM registry.dashboard_records() r JOIN registry.dashboard_entities() e
			ON e.credit_code = r.credit_code WHERE ` + s.Filter("e.district_code", "e.township_code", &pargs)
		pargs = append(pargs, from, to)
		periodSQL += ` AND r.occurred_on BETWEEN $` + itoa(len(pargs)-1) + ` AND $` + itoa(len(pargs)) + ` GROUP BY 1`
	} else {
		col := map[string]string{"district": "district_code"}[dim]
		if col == "" {
			col = dim
		}
		stockSQL = `SELECT u.` + col + `, sum(u.entities)::bigint FROM dashboard.rollup u WHERE ` +
			s.Filter("u.district_code", "u.township_code", &sargs) + ` GROUP BY 1`
		periodSQL = `SELECT e.` + col + `, count(*) FROM registry.dashboard_entities() e WHERE ` +
			s.Filter("e.district_code", "e.township_code", &pargs)
		pargs = append(pargs, from, to)
		periodSQL += ` AND e.established_on BETWEEN $` + itoa(len(pargs)-1) + ` AND $` + itoa(len(pargs)) + ` GROUP BY 1`
	}
	byCode := map[string]*DimCount{}
	collect := func(sql string, args []any, set func(*DimCount, int64)) error {
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return store.Classify(err)
		}
		defer rows.Close()
		for rows.Next() {
			var code string
			var n int64
			if err := rows.Scan(&code, &n); err != nil {
				return store.Classify(err)
			}
			if byCode[code] == nil {
				byCode[code] = &DimCount{Code: code, Name: dimName(dim, code)}
			}
			set(byCode[code], n)
		}
		return store.Classify(rows.Err())
	}
	if err := collect(stockSQL, sargs, func(c *DimCount, n int64) { c.Stock = n }); err != nil {
		return b, err
	}
	if err := collect(periodSQL, pargs, func(c *DimCount, n int64) { c.Period = n }); err != nil {
		return b, err
	}
	for _, c := range byCode {
		b.Rows = append(b.Rows, *c)
	}
	slices.SortFunc(b.Rows, func(x, y DimCount) int {
		if x.Stock != y.Stock {
			return int(min(max(y.Stock-x.Stock, -1), 1))
		}
		return strings.Compare(x.Code, y.Code)
	})
	return b, nil
}

func dimName(dim, code string) string {
	var name string
	switch dim {
	case "district":
		if c, ok := codes.Divisions().Lookup(code); ok {
			name = c.Name
		}
	case "entity_type":
		name = entityTypes[code]
	case "status":
		name = statuses[code]
	case "record_kind":
		name = recordKinds[code]
	}
	if name == "" {
		return code
	}
	return name
}
