package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
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

// PermAnomaly is the permission resource of the anomaly views (view,
// handle, manage, export), listed in shared/auth's catalogue.
const PermAnomaly = "dashboard.anomaly"

// NoAnomalyNotice is what a view in scope but without any anomaly says.
const NoAnomalyNotice = "当前范围内没有异常数据"

var anomalyFilterParams = []string{"class", "rule", "status", "district", "tag", "q"}

func (f *Function) anomalyRoutes(m *httpx.Mux) {
	// FP-102, FP-105: counts and key indicators by class, the type shares.
	m.Handle("GET /dashboard/v1/anomalies/overview", httpx.Endpoint(f.anomalyOverview), auth.Requires(PermAnomaly, "view"), httpx.NoEntity())
	// FP-102: the overview or the list exported (CSV/XLSX).
	m.Handle("GET /dashboard/v1/anomalies/export", http.HandlerFunc(f.anomalyExport), auth.Requires(PermAnomaly, "export"),
		httpx.EntityListing(), httpx.Params(append([]string{"what", "format"}, anomalyFilterParams...)...))
	// FP-103: the time trend.
	m.Handle("GET /dashboard/v1/anomalies/trend", httpx.Endpoint(f.anomalyTrend), auth.Requires(PermAnomaly, "view"), httpx.NoEntity(),
		httpx.Params("from", "to", "class"))
	// FP-104, FP-133: counts per county for the map, by class, rule or tag, with totals.
	m.Handle("GET /dashboard/v1/anomalies/districts", httpx.Endpoint(f.anomalyDistricts), auth.Requires(PermAnomaly, "view"), httpx.NoEntity(),
		httpx.Params("class", "rule", "tag"))
	// FP-104: the schematic district map the anomaly map is drawn on (the big screen's, no online tiles).
	m.Handle("GET /dashboard/v1/anomalies/map", http.HandlerFunc(f.districtMap), auth.Requires(PermAnomaly, "view"), httpx.NoEntity())
	// FP-133: the anomaly tags with their totals.
	m.Handle("GET /dashboard/v1/anomalies/tags", httpx.Endpoint(f.anomalyTags), auth.Requires(PermAnomaly, "view"), httpx.NoEntity(),
		httpx.Params("district"))
	// FP-106: sources, causes, impact, patterns and the rules' suggestions.
	m.Handle("GET /dashboard/v1/anomalies/analysis", httpx.Endpoint(f.anomalyAnalysis), auth.Requires(PermAnomaly, "view"), httpx.NoEntity())
	// FP-107: thresholds and the alerts they raised.
	m.Handle("GET /dashboard/v1/anomalies/thresholds", httpx.Endpoint(f.listThresholds), auth.Requires(PermAnomaly, "view"), httpx.NoEntity())
	m.Handle("POST /dashboard/v1/anomalies/thresholds", httpx.Body(f.postThreshold), auth.Requires(PermAnomaly, "manage"), httpx.NoEntity())
	m.Handle("PUT /dashboard/v1/anomalies/thresholds/{id}", httpx.Body(f.putThreshold), auth.Requires(PermAnomaly, "manage"), httpx.NoEntity())
	m.Handle("GET /dashboard/v1/anomalies/alerts", httpx.Endpoint(f.listAlerts), auth.Requires(PermAnomaly, "view"), httpx.NoEntity())
	// FP-102, FP-107: recompute now (the PingSource does it every half hour).
	m.Handle("POST /dashboard/v1/anomalies/detect", httpx.Body(f.postDetect), auth.Requires(PermAnomaly, "manage"), httpx.NoEntity())
	// FP-105: the list, filtered, in the caller's scope.
	m.Handle("GET /dashboard/v1/anomalies", httpx.Endpoint(f.listAnomalyRows), auth.Requires(PermAnomaly, "view"), httpx.EntityListing(),
		httpx.Params(append(anomalyFilterParams, httpx.PageParams...)...))
	// FP-105, FP-108: one anomaly with its rule and its trace.
	m.Handle("GET /dashboard/v1/anomalies/{anomaly}", httpx.Endpoint(f.getAnomaly), auth.Requires(PermAnomaly, "view"), httpx.EntityIn("anomaly"))
	m.Handle("GET /dashboard/v1/anomalies/{anomaly}/trace", httpx.Endpoint(f.anomalyTrace), auth.Requires(PermAnomaly, "view"), httpx.EntityIn("anomaly"))
	// FP-109: handle it: correct, classify, record an opinion, dismiss, close.
	m.Handle("POST /dashboard/v1/anomalies/{anomaly}/actions", httpx.Body(f.anomalyAction), auth.Requires(PermAnomaly, "handle"), httpx.EntityIn("anomaly"))
}

// AnomalyRow is one anomaly as the views show it.
type AnomalyRow struct {
	ID           int64           `json:"id"`
	Rule         string          `json:"rule"`
	RuleName     string          `json:"rule_name"`
	Class        string          `json:"class"`
	ClassName    string          `json:"class_name"`
	Subject      string          `json:"subject"`
	CreditCode   string          `json:"credit_code"`
	EntityName   string          `json:"entity_name"`
	DistrictCode string          `json:"district_code"`
	DistrictName string          `json:"district_name"`
	TownshipCode string          `json:"township_code"`
	Source       string          `json:"source"`
	SourceRef    string          `json:"source_ref"`
	Cause        string          `json:"cause"`
	Impact       string          `json:"impact"`
	Tags         []string        `json:"tags"`
	DetectedBy   string          `json:"detected_by"`
	Status       string          `json:"status"`
	StatusName   string          `json:"status_name"`
	Category     string          `json:"category"`
	Opinion      string          `json:"opinion"`
	Correction   json.RawMessage `json:"correction"`
	HandledBy    string          `json:"handled_by"`
	HandledAt    *time.Time      `json:"handled_at"`
	DetectedAt   time.Time       `json:"detected_at"`
	LastSeenAt   time.Time       `json:"last_seen_at"`
	ResolvedAt   *time.Time      `json:"resolved_at"`
}

const anomalyRowCols = `id, rule, class, subject, credit_code, entity_name, district_code, township_code, source, source_ref, cause,
	impact, tags, detected_by, status, category, opinion, correction, handled_by, handled_at, detected_at, last_seen_at, resolved_at`

func scanAnomalyRow(r pgx.Row) (AnomalyRow, error) {
	var a AnomalyRow
	err := r.Scan(&a.ID, &a.Rule, &a.Class, &a.Subject, &a.CreditCode, &a.EntityName, &a.DistrictCode, &a.TownshipCode, &a.Source,
		&a.SourceRef, &a.Cause, &a.Impact, &a.Tags, &a.DetectedBy, &a.Status, &a.Category, &a.Opinion, &a.Correction, &a.HandledBy,
		&a.HandledAt, &a.DetectedAt, &a.LastSeenAt, &a.ResolvedAt)
	if r, ok := ruleByCode(a.Rule); ok {
		a.RuleName = r.Name
	}
	a.ClassName, a.StatusName = anomalyClassNames[a.Class], anomalyStatusNames[a.Status]
	a.DistrictName, _ = divisionName(a.DistrictCode)
	return a, err
}

// anomalyFilter compiles the list's filters and the caller's scope. The
// default status is the live work: open and being processed.
func anomalyFilter(p *auth.Principal, q url.Values, args *[]any) (string, error) {
	var fe []errs.FieldError
	conds := []string{p.Scope.Filter("district_code", "township_code", args)}
	add := func(cond string, v any) {
		*args = append(*args, v)
		conds = append(conds, strings.ReplaceAll(cond, "$?", "$"+itoa(len(*args))))
	}
	if c := q.Get("class"); c != "" {
		if anomalyClassNames[c] == "" {
			fe = append(fe, errs.FieldError{Field: "class", Message: "异常分类应为 entity（市场主体）、food（食品）、drug（药品）或 licence（许可）"})
		}
		add("class = $?", c)
	}
	if r := q.Get("rule"); r != "" {
		if _, ok := ruleByCode(r); !ok {
			fe = append(fe, errs.FieldError{Field: "rule", Message: "异常规则不存在"})
		}
		add("rule = $?", r)
	}
	switch s := q.Get("status"); {
	case s == "" || s == "live":
		conds = append(conds, "resolved_at IS NULL AND status IN ('open', 'processing')")
	case s == "all":
	case validStatus(s):
		add("status = $?", s)
	default:
		fe = append(fe, errs.FieldError{Field: "status", Message: "状态应为 live、all、open、processing、corrected、dismissed 或 resolved"})
	}
	if d := q.Get("district"); d != "" {
		if _, ok := divisionName(d); !ok || len(d) != 6 {
			fe = append(fe, errs.FieldError{Field: "district", Message: "区县代码无效"})
		}
		add("district_code = $?", d)
	}
	if t := strings.TrimSpace(q.Get("tag")); t != "" {
		add("$? = ANY(tags)", t)
	}
	if s := strings.TrimSpace(q.Get("q")); s != "" {
		if utf8.RuneCountInString(s) > 50 {
			fe = append(fe, errs.FieldError{Field: "q", Message: "关键词最多 50 个字"})
		}
		// The pattern is the next parameter, the code the one after it.
		add("(entity_name LIKE $? ESCAPE '\\' OR credit_code = upper($"+itoa(len(*args)+2)+"))", "%"+store.EscapeLike(s)+"%")
		*args = append(*args, s)
	}
	return strings.Join(conds, " AND "), errs.Fields(fe)
}

func emptyScope(p *auth.Principal) bool { return p.Scope.IsEmpty() }

// ClassCount is one class of the overview.
type ClassCount struct {
	Class   string `json:"class"`
	Name    string `json:"name"`
	Live    int    `json:"live"`
	High    int    `json:"high"`
	New7    int    `json:"new_7d"`
	Handled int    `json:"handled"`
}

// Share is a named count (type shares, sources, impact, tags).
type Share struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// AnomalyOverview is FP-102's answer.
type AnomalyOverview struct {
	Total      int          `json:"total"`
	High       int          `json:"high"`
	New7       int          `json:"new_7d"`
	Handled    int          `json:"handled"`
	HandleRate float64      `json:"handle_rate"` // handled / (handled + live)
	Entities   int          `json:"entities"`    // distinct entities with a live anomaly
	Classes    []ClassCount `json:"classes"`
	Rules      []Share      `json:"rules"` // FP-105: the type shares
	Empty      bool         `json:"empty"`
	Notice     string       `json:"notice,omitempty"`
}

func (f *Function) overview(r *http.Request) (AnomalyOverview, error) {
	p := principal(r)
	out := AnomalyOverview{Classes: []ClassCount{}, Rules: []Share{}}
	for _, c := range anomalyClasses {
		out.Classes = append(out.Classes, ClassCount{Class: c, Name: anomalyClassNames[c]})
	}
	if emptyScope(p) {
		out.Empty, out.Notice = true, EmptyScopeNotice
		return out, nil
	}
	args := []any{f.now().Add(-7 * 24 * time.Hour)}
	scope := p.Scope.Filter("district_code", "township_code", &args)
	rows, err := f.pool.Query(r.Context(), `SELECT class, rule,
			count(*) FILTER (WHERE resolved_at IS NULL AND status IN ('open', 'processing')),
			count(*) FILTER (WHERE resolved_at IS NULL AND status IN ('open', 'processing') AND impact = 'high'),
			count(*) FILTER (WHERE detected_at >= $1),
			count(*) FILTER (WHERE status IN ('corrected', 'dismissed'))
		FROM dashboard.anomalies WHERE `+scope+` GROUP BY 1, 2`, args...)
	if err != nil {
		return out, store.Classify(err)
	}
	defer rows.Close()
	seen := false
	for rows.Next() {
		var class, rule string
		var live, high, n7, handled int
		if err := rows.Scan(&class, &rule, &live, &high, &n7, &handled); err != nil {
			return out, store.Classify(err)
		}
		seen = true
		i := slices.Index(anomalyClasses, class)
		if i < 0 {
			continue
		}
		c := &out.Classes[i]
		c.Live, c.High, c.New7, c.Handled = c.Live+live, c.High+high, c.New7+n7, c.Handled+handled
		out.Total, out.High, out.New7, out.Handled = out.Total+live, out.High+high, out.New7+n7, out.Handled+handled
		if live > 0 {
			ru, _ := ruleByCode(rule)
			out.Rules = append(out.Rules, Share{Key: rule, Name: ru.Name, Count: live})
		}
	}
	if err := rows.Err(); err != nil {
		return out, store.Classify(err)
	}
	sort.Slice(out.Rules, func(i, j int) bool { return out.Rules[i].Count > out.Rules[j].Count })
	if out.Handled+out.Total > 0 {
		out.HandleRate = float64(out.Handled) / float64(out.Handled+out.Total)
	}
	args = args[:0]
	scope = p.Scope.Filter("district_code", "township_code", &args)
	if err := f.pool.QueryRow(r.Context(), `SELECT count(DISTINCT credit_code) FROM dashboard.anomalies
		WHERE resolved_at IS NULL AND status IN ('open', 'processing') AND credit_code <> '' AND `+scope, args...).Scan(&out.Entities); err != nil {
		return out, store.Classify(err)
	}
	if !seen {
		out.Empty, out.Notice = true, NoAnomalyNotice
	}
	return out, nil
}

func (f *Function) anomalyOverview(r *http.Request) (any, error) { return f.overview(r) }

// TrendPoint is one day of the trend (FP-103).
type TrendPoint struct {
	Date     string         `json:"date"`
	Detected int            `json:"detected"`
	Resolved int            `json:"resolved"`
	ByClass  map[string]int `json:"by_class"`
}

func parseDay(s, field string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, beijing())
	if err != nil {
		return d, errs.Fields([]errs.FieldError{{Field: field, Message: "日期格式应为 YYYY-MM-DD"}})
	}
	return d, nil
}

func (f *Function) anomalyTrend(r *http.Request) (any, error) {
	q := r.URL.Query()
	today := time.Date(f.now().In(beijing()).Year(), f.now().In(beijing()).Month(), f.now().In(beijing()).Day(), 0, 0, 0, 0, beijing())
	from, to := today.AddDate(0, 0, -29), today
	var err error
	if s := q.Get("from"); s != "" {
		if from, err = parseDay(s, "from"); err != nil {
			return nil, err
		}
	}
	if s := q.Get("to"); s != "" {
		if to, err = parseDay(s, "to"); err != nil {
			return nil, err
		}
	}
	if to.Before(from) {
		return nil, errs.Fields([]errs.FieldError{{Field: "to", Message: "结束日期不能早于开始日期"}})
	}
	if to.Sub(from) > 366*24*time.Hour {
		return nil, errs.Fields([]errs.FieldError{{Field: "from", Message: "时间范围最长一年"}})
	}
	class := q.Get("class")
	if class != "" && anomalyClassNames[class] == "" {
		return nil, errs.Fields([]errs.FieldError{{Field: "class", Message: "异常分类无效"}})
	}
	points := []TrendPoint{}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		points = append(points, TrendPoint{Date: d.Format(time.DateOnly), ByClass: map[string]int{}})
	}
	out := map[string]any{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "items": points}
	p := principal(r)
	if emptyScope(p) {
		out["empty"], out["notice"] = true, EmptyScopeNotice
		return out, nil
	}
	args := []any{from, to.AddDate(0, 0, 1), class}
	scope := p.Scope.Filter("district_code", "township_code", &args)
	rows, err := f.pool.Query(r.Context(), `SELECT to_char(d AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), kind, class, count(*) FROM (
			SELECT detected_at AS d, 'detected' AS kind, class FROM dashboard.anomalies
			WHERE detected_at >= $1 AND detected_at < $2 AND ($3 = '' OR class = $3) AND `+scope+`
			UNION ALL
			SELECT resolved_at, 'resolved', class FROM dashboard.anomalies
			WHERE resolved_at >= $1 AND resolved_at < $2 AND ($3 = '' OR class = $3) AND `+scope+`) x GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	index := map[string]int{}
	for i, pt := range points {
		index[pt.Date] = i
	}
	total := 0
	for rows.Next() {
		var day, kind, cl string
		var n int
		if err := rows.Scan(&day, &kind, &cl, &n); err != nil {
			return nil, store.Classify(err)
		}
		i, ok := index[day]
		if !ok {
			continue
		}
		total += n
		if kind == "detected" {
			points[i].Detected += n
			points[i].ByClass[cl] += n
		} else {
			points[i].Resolved += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify(err)
	}
	if total == 0 {
		out["empty"], out["notice"] = true, "所选期间没有异常数据"
	}
	return out, nil
}

// AnomalyDistrict is one county on the anomaly map (FP-104, FP-133).
type AnomalyDistrict struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Count int    `json:"count"`
	High  int    `json:"high"`
}

// scopeCounties is every county the caller's scope reaches, for a map
// with zeros included.
func scopeCounties(p *auth.Principal) []codes.Division {
	var out []codes.Division
	for _, c := range codes.Divisions().Counties() {
		if p.Scope.Kind == auth.ScopeAll || slices.Contains(p.Scope.Districts, c.Code) || slices.ContainsFunc(p.Scope.Townships,
			func(t string) bool { return strings.HasPrefix(t, c.Code) }) {
			out = append(out, c)
		}
	}
	return out
}

func (f *Function) anomalyDistricts(r *http.Request) (any, error) {
	p := principal(r)
	q := r.URL.Query()
	out := map[string]any{"items": []AnomalyDistrict{}, "total": 0, "tag": q.Get("tag")}
	if emptyScope(p) {
		out["empty"], out["notice"] = true, EmptyScopeNotice
		return out, nil
	}
	var args []any
	where, err := anomalyFilter(p, url.Values{"class": {q.Get("class")}, "rule": {q.Get("rule")}, "tag": {q.Get("tag")}}, &args)
	if err != nil {
		return nil, err
	}
	rows, err := f.pool.Query(r.Context(), `SELECT district_code, count(*), count(*) FILTER (WHERE impact = 'high')
		FROM dashboard.anomalies WHERE `+where+` GROUP BY 1`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	counts := map[string][2]int{}
	for rows.Next() {
		var d string
		var n, h int
		if err := rows.Scan(&d, &n, &h); err != nil {
			rows.Close()
			return nil, store.Classify(err)
		}
		counts[d] = [2]int{n, h}
	}
	rows.Close()
	items := []AnomalyDistrict{}
	total := 0
	for _, c := range scopeCounties(p) {
		n := counts[c.Code]
		items = append(items, AnomalyDistrict{Code: c.Code, Name: c.Name, Count: n[0], High: n[1]})
		total += n[0]
	}
	out["items"], out["total"] = items, total
	if total == 0 {
		out["empty"], out["notice"] = true, NoAnomalyNotice
	}
	return out, nil
}

func (f *Function) anomalyTags(r *http.Request) (any, error) {
	p := principal(r)
	out := map[string]any{"items": []Share{}}
	if emptyScope(p) {
		out["empty"], out["notice"] = true, EmptyScopeNotice
		return out, nil
	}
	var args []any
	where, err := anomalyFilter(p, url.Values{"district": {r.URL.Query().Get("district")}}, &args)
	if err != nil {
		return nil, err
	}
	rows, err := f.pool.Query(r.Context(), `SELECT t, count(*) FROM dashboard.anomalies, unnest(tags) t WHERE `+where+` GROUP BY 1 ORDER BY 2 DESC, 1`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Share, error) {
		var s Share
		err := r.Scan(&s.Key, &s.Count)
		s.Name = s.Key
		return s, err
	})
	if err != nil {
		return nil, store.Classify(err)
	}
	out["items"] = items
	if len(items) == 0 {
		out["empty"], out["notice"] = true, NoAnomalyNotice
	}
	return out, nil
}

// Suggestion is a rule's advice, ranked by what it would clear (FP-106).
type Suggestion struct {
	Rule       string `json:"rule"`
	Name       string `json:"name"`
	Impact     string `json:"impact"`
	Count      int    `json:"count"`
	Rising     bool   `json:"rising"` // more found in the last 7 days than in the 7 before
	Suggestion string `json:"suggestion"`
}

func (f *Function) anomalyAnalysis(r *http.Request) (any, error) {
	p := principal(r)
	out := map[string]any{"sources": []Share{}, "causes": []Share{}, "impact": []Share{}, "suggestions": []Suggestion{},
		"repeat_entities": 0, "top_districts": []AnomalyDistrict{}}
	if emptyScope(p) {
		out["empty"], out["notice"] = true, EmptyScopeNotice
		return out, nil
	}
	now := f.now()
	args := []any{now.Add(-7 * 24 * time.Hour), now.Add(-14 * 24 * time.Hour)}
	scope := p.Scope.Filter("district_code", "township_code", &args)
	rows, err := f.pool.Query(r.Context(), `SELECT rule, source, impact,
			count(*) FILTER (WHERE resolved_at IS NULL AND status IN ('open', 'processing')),
			count(*) FILTER (WHERE detected_at >= $1), count(*) FILTER (WHERE detected_at >= $2 AND detected_at < $1)
		FROM dashboard.anomalies WHERE `+scope+` GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	sources, impact := map[string]int{}, map[string]int{}
	var causes []Share
	var sugg []Suggestion
	for rows.Next() {
		var rule, source, imp string
		var live, recent, before int
		if err := rows.Scan(&rule, &source, &imp, &live, &recent, &before); err != nil {
			rows.Close()
			return nil, store.Classify(err)
		}
		if live == 0 {
			continue
		}
		ru, _ := ruleByCode(rule)
		sources[source] += live
		impact[imp] += live
		causes = append(causes, Share{Key: rule, Name: ru.Name, Count: live})
		sugg = append(sugg, Suggestion{Rule: rule, Name: ru.Name, Impact: imp, Count: live, Rising: recent > before, Suggestion: ru.Suggestion})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, store.Classify(err)
	}
	if len(causes) == 0 {
		out["empty"], out["notice"] = true, NoAnomalyNotice
		return out, nil
	}
	weight := map[string]int{"high": 3, "medium": 2, "low": 1}
	sort.Slice(causes, func(i, j int) bool { return causes[i].Count > causes[j].Count })
	sort.SliceStable(sugg, func(i, j int) bool {
		return weight[sugg[i].Impact]*sugg[i].Count > weight[sugg[j].Impact]*sugg[j].Count
	})
	sourceNames := map[string]string{"registry": "市场主体登记", "qr": "一企一码", "geocode": "地理编码"}
	for _, k := range []string{"registry", "qr", "geocode"} {
		if sources[k] > 0 {
			out["sources"] = append(out["sources"].([]Share), Share{Key: k, Name: sourceNames[k], Count: sources[k]})
		}
	}
	for _, k := range []string{"high", "medium", "low"} {
		if impact[k] > 0 {
			out["impact"] = append(out["impact"].([]Share), Share{Key: k, Name: impactNames[k], Count: impact[k]})
		}
	}
	out["causes"], out["suggestions"] = causes, sugg
	// A pattern worth a visit: entities carrying several anomalies at once.
	args = args[:0]
	scope = p.Scope.Filter("district_code", "township_code", &args)
	var repeat int
	if err := f.pool.QueryRow(r.Context(), `SELECT count(*) FROM (SELECT credit_code FROM dashboard.anomalies
		WHERE resolved_at IS NULL AND status IN ('open', 'processing') AND credit_code <> '' AND `+scope+`
		GROUP BY 1 HAVING count(*) > 1) x`, args...).Scan(&repeat); err != nil {
		return nil, store.Classify(err)
	}
	out["repeat_entities"] = repeat
	args = args[:0]
	scope = p.Scope.Filter("district_code", "township_code", &args)
	drows, err := f.pool.Query(r.Context(), `SELECT district_code, count(*), count(*) FILTER (WHERE impact = 'high') FROM dashboard.anomalies
		WHERE resolved_at IS NULL AND status IN ('open', 'processing') AND `+scope+` GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	top, err := pgx.CollectRows(drows, func(r pgx.CollectableRow) (AnomalyDistrict, error) {
		var d AnomalyDistrict
		err := r.Scan(&d.Code, &d.Count, &d.High)
		d.Name, _ = divisionName(d.Code)
		return d, err
	})
	if err != nil {
		return nil, store.Classify(err)
	}
	out["top_districts"] = top
	return out, nil
}

func (f *Function) queryAnomalies(r *http.Request, q url.Values, limit, offset int) ([]AnomalyRow, int, error) {
	p := principal(r)
	var args []any
	where, err := anomalyFilter(p, q, &args)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := f.pool.QueryRow(r.Context(), `SELECT count(*) FROM dashboard.anomalies WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	args = append(args, limit, offset)
	rows, err := f.pool.Query(r.Context(), `SELECT `+anomalyRowCols+` FROM dashboard.anomalies WHERE `+where+
		` ORDER BY CASE impact WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, detected_at DESC, id DESC LIMIT $`+itoa(len(args)-1)+
		` OFFSET $`+itoa(len(args)), args...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AnomalyRow, error) { return scanAnomalyRow(row) })
	return items, total, store.Classify(err)
}

func (f *Function) listAnomalyRows(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	if emptyScope(principal(r)) {
		return map[string]any{"items": []AnomalyRow{}, "total": 0, "page": page.Page, "page_size": page.Size, "notice": EmptyScopeNotice}, nil
	}
	items, total, err := f.queryAnomalies(r, r.URL.Query(), page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

// TraceStep is one step of an anomaly's path (FP-108).
type TraceStep struct {
	Step   string          `json:"step"`
	Name   string          `json:"name"`
	Actor  string          `json:"actor"`
	Detail json.RawMessage `json:"detail"`
	At     time.Time       `json:"at"`
}

var stepNames = map[string]string{"detected": "规则发现", "resolved": "数据已恢复正常", "correct": "数据修正", "classify": "归类",
	"opinion": "处理意见", "dismiss": "排除（误报）", "close": "办结", "lineage": "数据来源"}

// anomalyFor loads one anomaly the caller's scope reaches: outside it the
// anomaly does not exist for them.
func (f *Function) anomalyFor(r *http.Request, q store.Querier, lock bool) (AnomalyRow, error) {
	id, err := strconv.ParseInt(r.PathValue("anomaly"), 10, 64)
	if err != nil || id <= 0 {
		return AnomalyRow{}, errs.New(errs.NotFound, "异常数据不存在")
	}
	sql := `SELECT ` + anomalyRowCols + ` FROM dashboard.anomalies WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	a, err := scanAnomalyRow(q.QueryRow(r.Context(), sql, id))
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !principal(r).Scope.Allows(a.DistrictCode, a.TownshipCode)) {
		return a, errs.New(errs.NotFound, "异常数据不存在")
	}
	return a, store.Classify(err)
}

func (f *Function) trace(r *http.Request, a AnomalyRow) (map[string]any, error) {
	rows, err := f.pool.Query(r.Context(), `SELECT step, actor, detail, at FROM dashboard.anomaly_trace WHERE anomaly_id = $1 ORDER BY at, id`, a.ID)
	if err != nil {
		return nil, store.Classify(err)
	}
	steps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TraceStep, error) {
		var s TraceStep
		err := r.Scan(&s.Step, &s.Actor, &s.Detail, &s.At)
		s.Name = stepNames[s.Step]
		return s, err
	})
	if err != nil {
		return nil, store.Classify(err)
	}
	// The hook for datahub's lineage (being built): when a Lineage is
	// wired, the upstream path of the source record comes first.
	lineage := "datahub 数据血缘尚未接入：路径由平台自身的事件与规则记录"
	if f.lineage != nil {
		up, err := f.lineage.Lineage(r.Context(), a.Source, a.SourceRef)
		if err != nil {
			f.log.Warn("lineage unavailable", "err", err)
		} else {
			steps, lineage = append(up, steps...), ""
		}
	}
	ru, _ := ruleByCode(a.Rule)
	out := map[string]any{"source": a.Source, "source_ref": a.SourceRef, "rule": ru, "detected_by": a.DetectedBy, "steps": steps}
	if lineage != "" {
		out["lineage_notice"] = lineage
	}
	return out, nil
}

func (f *Function) getAnomaly(r *http.Request) (any, error) {
	a, err := f.anomalyFor(r, f.pool, false)
	if err != nil {
		return nil, err
	}
	tr, err := f.trace(r, a)
	if err != nil {
		return nil, err
	}
	return map[string]any{"anomaly": a, "rule": tr["rule"], "trace": tr}, nil
}

func (f *Function) anomalyTrace(r *http.Request) (any, error) {
	a, err := f.anomalyFor(r, f.pool, false)
	if err != nil {
		return nil, err
	}
	return f.trace(r, a)
}

// ActionInput is one handling step (FP-109).
type ActionInput struct {
	Action   string `json:"action"`   // correct | classify | opinion | dismiss | close
	Category string `json:"category"` // classify: the handler's class
	Opinion  string `json:"opinion"`
	Field    string `json:"field"` // correct: the field and its corrected value
	Value    string `json:"value"`
}

var handleCategories = []string{"登记错误", "数据迁移错误", "主体违规", "规则误报", "其他"}

func (in *ActionInput) check() error {
	in.Opinion, in.Field, in.Value, in.Category = strings.TrimSpace(in.Opinion), strings.TrimSpace(in.Field), strings.TrimSpace(in.Value), strings.TrimSpace(in.Category)
	var fe []errs.FieldError
	if utf8.RuneCountInString(in.Opinion) > 500 {
		fe = append(fe, errs.FieldError{Field: "opinion", Message: "处理意见最多 500 个字"})
	}
	switch in.Action {
	case "correct":
		if in.Field == "" || utf8.RuneCountInString(in.Field) > 30 {
			fe = append(fe, errs.FieldError{Field: "field", Message: "请填写修正的字段（最多 30 个字）"})
		}
		if in.Value == "" || utf8.RuneCountInString(in.Value) > 200 {
			fe = append(fe, errs.FieldError{Field: "value", Message: "请填写修正后的值（最多 200 个字）"})
		}
	case "classify":
		if !slices.Contains(handleCategories, in.Category) {
			fe = append(fe, errs.FieldError{Field: "category", Message: "归类应为：" + strings.Join(handleCategories, "、")})
		}
	case "opinion", "dismiss", "close":
		if utf8.RuneCountInString(in.Opinion) < 2 {
			fe = append(fe, errs.FieldError{Field: "opinion", Message: "请填写处理意见（至少 2 个字）"})
		}
	default:
		fe = append(fe, errs.FieldError{Field: "action", Message: "处理动作应为 correct（修正）、classify（归类）、opinion（意见）、dismiss（排除）或 close（办结）"})
	}
	return errs.Fields(fe)
}

func (f *Function) anomalyAction(r *http.Request, in ActionInput) (any, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	who := auditlog.ActorOf(r)
	now := f.now()
	var a AnomalyRow
	err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		cur, err := f.anomalyFor(r, tx, true)
		if err != nil {
			return err
		}
		if cur.Status == "corrected" || cur.Status == "dismissed" || cur.Status == "resolved" {
			return errs.New(errs.Conflict, "该异常已"+anomalyStatusNames[cur.Status]+"，不能再处理")
		}
		status, category, opinion := "processing", cur.Category, cur.Opinion
		var correction any
		if cur.Correction != nil {
			correction = cur.Correction
		}
		switch in.Action {
		case "correct":
			status, correction = "corrected", map[string]string{"field": in.Field, "value": in.Value}
		case "classify":
			category = in.Category
		case "dismiss":
			status = "dismissed"
		case "close":
			status = "corrected"
		}
		if in.Opinion != "" {
			opinion = in.Opinion
		}
		cj, _ := json.Marshal(correction)
		if correction == nil {
			cj = nil
		}
		a, err = scanAnomalyRow(tx.QueryRow(r.Context(), `UPDATE dashboard.anomalies SET status = $2, category = $3, opinion = $4,
			correction = $5, handled_by = $6, handled_at = $7 WHERE id = $1 RETURNING `+anomalyRowCols,
			cur.ID, status, category, opinion, cj, who.Username, now))
		if err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"action": in.Action, "status": status, "category": in.Category, "opinion": in.Opinion,
			"field": in.Field, "value": in.Value})
		if _, err := tx.Exec(r.Context(), `INSERT INTO dashboard.anomaly_trace (anomaly_id, step, actor, detail, at) VALUES ($1, $2, $3, $4, $5)`,
			cur.ID, in.Action, who.Username, detail, now); err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, who, auditlog.Operation{At: now, Action: "dashboard.anomaly." + in.Action,
			ObjectType: "anomaly", ObjectID: strconv.FormatInt(cur.ID, 10), DistrictCode: cur.DistrictCode, TownshipCode: cur.TownshipCode,
			Before: map[string]any{"status": cur.Status, "category": cur.Category, "opinion": cur.Opinion},
			After:  map[string]any{"status": a.Status, "category": a.Category, "opinion": a.Opinion, "correction": correction}})
	})
	return a, classify(err)
}

// ThresholdInput defines or edits a threshold.
type ThresholdInput struct {
	Name         string   `json:"name"`
	Class        string   `json:"class"`
	Rule         string   `json:"rule"`
	DistrictCode string   `json:"district_code"`
	Threshold    int      `json:"threshold"`
	Level        string   `json:"level"`
	Roles        []string `json:"roles"`
	DeptIDs      []string `json:"dept_ids"`
	Enabled      *bool    `json:"enabled"`
}

func (in *ThresholdInput) check(p *auth.Principal) error {
	in.Name = strings.TrimSpace(in.Name)
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 50 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "预警名称应为 1–50 个字"})
	}
	if in.Class != "" && anomalyClassNames[in.Class] == "" {
		fe = append(fe, errs.FieldError{Field: "class", Message: "异常分类无效"})
	}
	if in.Rule != "" {
		if _, ok := ruleByCode(in.Rule); !ok {
			fe = append(fe, errs.FieldError{Field: "rule", Message: "异常规则不存在"})
		}
	}
	if in.Threshold < 1 || in.Threshold > 1000000 {
		fe = append(fe, errs.FieldError{Field: "threshold", Message: "阈值应为 1–1000000 之间的整数"})
	}
	if in.Level == "" {
		in.Level = "warning"
	}
	if in.Level != "warning" && in.Level != "alert" {
		fe = append(fe, errs.FieldError{Field: "level", Message: "级别应为 warning（预警）或 alert（告警）"})
	}
	if in.Roles == nil {
		in.Roles = []string{}
	}
	if in.DeptIDs == nil {
		in.DeptIDs = []string{}
	}
	if len(in.Roles)+len(in.DeptIDs) == 0 {
		fe = append(fe, errs.FieldError{Field: "roles", Message: "请至少选择一个接收角色或部门"})
	}
	if in.DistrictCode != "" {
		if _, ok := divisionName(in.DistrictCode); !ok || len(in.DistrictCode) != 6 {
			fe = append(fe, errs.FieldError{Field: "district_code", Message: "区县代码无效"})
		} else if !p.Scope.Allows(in.DistrictCode, "") && p.Scope.Kind != auth.ScopeAll {
			fe = append(fe, errs.FieldError{Field: "district_code", Message: "所选区县不在您的数据范围内"})
		}
	} else if p.Scope.Kind != auth.ScopeAll {
		fe = append(fe, errs.FieldError{Field: "district_code", Message: "全市预警需全市数据范围，请选择区县"})
	}
	if in.Enabled == nil {
		t := true
		in.Enabled = &t
	}
	return errs.Fields(fe)
}

func (f *Function) saveThreshold(r *http.Request, id int64, in ThresholdInput) (Threshold, error) {
	if err := in.check(principal(r)); err != nil {
		return Threshold{}, err
	}
	who := auditlog.ActorOf(r)
	var t Threshold
	err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		var err error
		var nid int64
		if id == 0 {
			err = tx.QueryRow(r.Context(), `INSERT INTO dashboard.anomaly_thresholds (name, class, rule, district_code, threshold, level, roles,
				dept_ids, enabled, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
				in.Name, in.Class, in.Rule, in.DistrictCode, in.Threshold, in.Level, in.Roles, in.DeptIDs, *in.Enabled, who.Username, f.now()).Scan(&nid)
		} else {
			// An edited threshold re-arms: its new line is judged afresh.
			err = tx.QueryRow(r.Context(), `UPDATE dashboard.anomaly_thresholds SET name = $2, class = $3, rule = $4, district_code = $5,
				threshold = $6, level = $7, roles = $8, dept_ids = $9, enabled = $10, crossed = false WHERE id = $1 RETURNING id`,
				id, in.Name, in.Class, in.Rule, in.DistrictCode, in.Threshold, in.Level, in.Roles, in.DeptIDs, *in.Enabled).Scan(&nid)
			if errors.Is(err, pgx.ErrNoRows) {
				return errs.New(errs.NotFound, "预警规则不存在")
			}
		}
		if err != nil {
			return err
		}
		if t, err = scanThreshold(tx.QueryRow(r.Context(), `SELECT `+thresholdCols+` FROM dashboard.anomaly_thresholds t WHERE t.id = $1`, nid)); err != nil {
			return err
		}
		action := "dashboard.anomaly_threshold.create"
		if id != 0 {
			action = "dashboard.anomaly_threshold.edit"
		}
		return auditlog.RecordBy(r.Context(), tx, Source, who, auditlog.Operation{At: f.now(), Action: action,
			ObjectType: "anomaly_threshold", ObjectID: strconv.FormatInt(nid, 10), After: t})
	})
	return t, classify(err)
}

func (f *Function) postThreshold(r *http.Request, in ThresholdInput) (any, error) {
	t, err := f.saveThreshold(r, 0, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(t, ""), nil
}

func (f *Function) putThreshold(r *http.Request, in ThresholdInput) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.New(errs.NotFound, "预警规则不存在")
	}
	return f.saveThreshold(r, id, in)
}

// visibleThreshold: a district user sees the thresholds of their districts.
func visibleThreshold(p *auth.Principal, district string) bool {
	return p.Scope.Kind == auth.ScopeAll || (district != "" && p.Scope.Allows(district, ""))
}

func (f *Function) listThresholds(r *http.Request) (any, error) {
	rows, err := f.pool.Query(r.Context(), `SELECT `+thresholdCols+` FROM dashboard.anomaly_thresholds t ORDER BY t.id`)
	if err != nil {
		return nil, store.Classify(err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Threshold, error) { return scanThreshold(r) })
	if err != nil {
		return nil, store.Classify(err)
	}
	p := principal(r)
	items := []Threshold{}
	for _, t := range all {
		if visibleThreshold(p, t.DistrictCode) {
			items = append(items, t)
		}
	}
	return map[string]any{"items": items, "rules": anomalyRules(), "classes": anomalyClassNames, "categories": handleCategories}, nil
}

// Alert is one crossing of a threshold.
type Alert struct {
	ID          int64     `json:"id"`
	ThresholdID int64     `json:"threshold_id"`
	Name        string    `json:"name"`
	District    string    `json:"district_code"`
	Count       int       `json:"count"`
	Threshold   int       `json:"threshold"`
	At          time.Time `json:"at"`
}

func (f *Function) listAlerts(r *http.Request) (any, error) {
	rows, err := f.pool.Query(r.Context(), `SELECT a.id, a.threshold_id, t.name, t.district_code, a.count, t.threshold, a.at
		FROM dashboard.anomaly_alerts a JOIN dashboard.anomaly_thresholds t ON t.id = a.threshold_id ORDER BY a.id DESC LIMIT 200`)
	if err != nil {
		return nil, store.Classify(err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Alert, error) {
		var a Alert
		return a, r.Scan(&a.ID, &a.ThresholdID, &a.Name, &a.District, &a.Count, &a.Threshold, &a.At)
	})
	if err != nil {
		return nil, store.Classify(err)
	}
	p := principal(r)
	items := []Alert{}
	for _, a := range all {
		if visibleThreshold(p, a.District) {
			items = append(items, a)
		}
	}
	return map[string]any{"items": items}, nil
}

// DetectInput is empty: the detection takes no options.
type DetectInput struct{}

func (f *Function) postDetect(r *http.Request, _ DetectInput) (any, error) {
	return f.detect(r.Context(), "", "manual:"+auditlog.ActorOf(r).Username)
}

func (f *Function) anomalyExport(w http.ResponseWriter, r *http.Request) {
	if err := f.writeAnomalyExport(w, r); err != nil {
		httpx.Fail(w, r, err)
	}
}

func (f *Function) writeAnomalyExport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	format, err := tabular.ParseFormat(q.Get("format"), tabular.XLSX)
	if err != nil {
		return err
	}
	what := q.Get("what")
	if what == "" {
		what = "overview"
	}
	if what != "overview" && what != "list" {
		return errs.Fields([]errs.FieldError{{Field: "what", Message: "导出内容应为 overview（总体概况）或 list（异常清单）"}})
	}
	if emptyScope(principal(r)) {
		return errs.New(errs.Forbidden, EmptyScopeNotice)
	}
	var t tabular.Table
	var name string
	if what == "overview" {
		o, err := f.overview(r)
		if err != nil {
			return err
		}
		name = "异常数据总体概况"
		t.Header = []string{"分类", "待处理异常", "高影响", "近7日新增", "已处理"}
		for _, c := range o.Classes {
			t.Rows = append(t.Rows, []any{c.Name, c.Live, c.High, c.New7, c.Handled})
		}
		t.Rows = append(t.Rows, []any{"合计", o.Total, o.High, o.New7, o.Handled})
		for _, s := range o.Rules {
			t.Rows = append(t.Rows, []any{"其中：" + s.Name, s.Count, "", "", ""})
		}
	} else {
		rows, total, err := f.queryAnomalies(r, q, f.cfg.MaxExportRows, 0)
		if err != nil {
			return err
		}
		if total > f.cfg.MaxExportRows {
			return errs.New(errs.Invalid, fmt.Sprintf("异常共 %d 条，超过单次导出上限 %d 条，请增加条件缩小范围", total, f.cfg.MaxExportRows))
		}
		name = "异常数据清单"
		t.Header = []string{"编号", "分类", "规则", "统一社会信用代码", "主体名称", "区县", "来源", "原因", "影响", "标签", "状态", "发现时间"}
		for _, a := range rows {
			t.Rows = append(t.Rows, []any{a.ID, a.ClassName, a.RuleName, a.CreditCode, a.EntityName, a.DistrictName, a.Source, a.Cause,
				impactNames[a.Impact], strings.Join(a.Tags, "、"), a.StatusName, a.DetectedAt.In(beijing()).Format("2006-01-02 15:04")})
		}
	}
	if err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{At: f.now(),
			Action: "dashboard.anomaly.export", ObjectType: "anomaly", ObjectID: what,
			After: map[string]any{"what": what, "format": format, "rows": len(t.Rows)}})
	}); err != nil {
		return err
	}
	return tabular.Serve(w, name, format, t)
}
