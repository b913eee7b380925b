package scanresolve

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/tabular"
)

// StatsQuery is a statistics request: a grouping over a date range
// (China Standard Time days, both ends included).
type StatsQuery struct {
	Group    string // hour | day | district | industry | top
	From, To time.Time
	Limit    int // top only
}

// StatRow is one group's scan count.
type StatRow struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Scans int64  `json:"scans"`
}

// StatsResult is the answer of GET /scan/v1/stats.
type StatsResult struct {
	Group string    `json:"group"`
	From  string    `json:"from"`
	To    string    `json:"to"`
	Total int64     `json:"total"`
	Items []StatRow `json:"items"`
}

// statsParams are the statistics' query parameters.
var statsParams = []string{"group", "from", "to", "limit"}

var groupNames = map[string]string{"hour": "时段", "day": "日期", "district": "行政区划", "industry": "行业", "top": "经营主体"}

// maxStatsDays bounds one query's range.
const maxStatsDays = 366

func (f *Function) statsQuery(r *http.Request) (StatsQuery, error) {
	q := r.URL.Query()
	sq := StatsQuery{Group: q.Get("group"), Limit: 20}
	var fe []errs.FieldError
	if sq.Group == "" {
		sq.Group = "day"
	}
	if _, ok := groupNames[sq.Group]; !ok {
		fe = append(fe, errs.FieldError{Field: "group", Message: "分组应为 hour、day、district、industry 或 top"})
	}
	today := f.now().In(shanghai)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, shanghai)
	sq.To, sq.From = today, today.AddDate(0, 0, -29)
	parse := func(name string, dst *time.Time) {
		if s := q.Get(name); s != "" {
			t, err := time.ParseInLocation(time.DateOnly, s, shanghai)
			if err != nil {
				fe = append(fe, errs.FieldError{Field: name, Message: "日期格式应为 YYYY-MM-DD"})
				return
			}
			*dst = t
		}
	}
	parse("to", &sq.To)
	if q.Get("to") != "" && q.Get("from") == "" {
		sq.From = sq.To.AddDate(0, 0, -29)
	}
	parse("from", &sq.From)
	if sq.From.After(sq.To) {
		fe = append(fe, errs.FieldError{Field: "from", Message: "开始日期不能晚于结束日期"})
	} else if sq.To.Sub(sq.From) > maxStatsDays*24*time.Hour {
		fe = append(fe, errs.FieldError{Field: "from", Message: "统计区间不能超过 366 天"})
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			fe = append(fe, errs.FieldError{Field: "limit", Message: "排行条数应为 1 至 100"})
		}
		sq.Limit = n
	}
	return sq, errs.Fields(fe)
}

// Stats counts scans over the query's range within the caller's data
// scope (by the district and township the entity had when scanned).
func (f *Function) Stats(ctx context.Context, sq StatsQuery, scope auth.Scope) (StatsResult, error) {
	res := StatsResult{Group: sq.Group, From: sq.From.Format(time.DateOnly), To: sq.To.Format(time.DateOnly), Items: []StatRow{}}
	rows, total, err := selectStats(ctx, f.pool, sq, scope)
	if err != nil {
		return res, err
	}
	res.Total = total
	byKey := make(map[string]int64, len(rows))
	for _, s := range rows {
		byKey[s.Key] = s.Scans
	}
	switch sq.Group {
	case "hour": // every hour of the day, so a chart has 24 bars
		for h := range 24 {
			k := strconv.Itoa(h)
			res.Items = append(res.Items, StatRow{Key: k, Label: fmt.Sprintf("%02d:00–%02d:59", h, h), Scans: byKey[k]})
		}
	case "day": // every day of the range, zeros included
		for d := sq.From; !d.After(sq.To); d = d.AddDate(0, 0, 1) {
			k := d.Format(time.DateOnly)
			res.Items = append(res.Items, StatRow{Key: k, Label: k, Scans: byKey[k]})
		}
	case "district":
		for _, s := range rows {
			if d, ok := codes.Divisions().Lookup(s.Key); ok {
				s.Label = d.Name
			}
			res.Items = append(res.Items, s)
		}
	case "industry":
		for _, s := range rows {
			if d, ok := codes.Industries().Lookup(s.Key); ok {
				s.Label = d.Name
			}
			res.Items = append(res.Items, s)
		}
	case "top":
		res.Items = append(res.Items, rows...)
	}
	return res, nil
}

func (f *Function) statsFor(r *http.Request) (StatsResult, error) {
	sq, err := f.statsQuery(r)
	if err != nil {
		return StatsResult{}, err
	}
	return f.Stats(r.Context(), sq, scopeOf(r))
}

func (f *Function) stats(r *http.Request) (any, error) { return f.statsFor(r) }

// statsExport answers the statistics as XLSX (default) or CSV: one row per
// group and a total; the grouping and range are in the file name.
func (f *Function) statsExport(w http.ResponseWriter, r *http.Request) {
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	res, err := f.statsFor(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	t := tabular.Table{Header: []string{"编码", groupNames[res.Group], "扫码次数"}}
	for _, it := range res.Items {
		t.Rows = append(t.Rows, []any{it.Key, it.Label, it.Scans})
	}
	t.Rows = append(t.Rows, []any{"合计", "", res.Total})
	name := fmt.Sprintf("扫码统计_按%s_%s至%s", groupNames[res.Group], res.From, res.To)
	if err := tabular.Serve(w, name, format, t); err != nil {
		httpx.Logger(r.Context()).WarnContext(r.Context(), "stats export cut short", "err", err)
	}
}
