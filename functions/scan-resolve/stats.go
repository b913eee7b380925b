package scanresolve

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
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

// Stats counts scans over the query's range within the caller's data scope.
func (f *Function) Stats(ctx context.Context, sq StatsQuery, scope auth.Scope) (StatsResult, error) {
	args := []any{sq.From, sq.To.AddDate(0, 0, 1)}
	where := `scanned_at >= $1 AND scanned_at < $2 AND credit_code <> '' AND ` + scope.Filter("district_code", "township_code", &args)
	res := StatsResult{Group: sq.Group, From: sq.From.Format(time.DateOnly), To: sq.To.Format(time.DateOnly), Items: []StatRow{}}
	var sql string
	switch sq.Group {
	case "hour":
		sql = `SELECT extract(hour FROM scanned_at AT TIME ZONE 'Asia/Shanghai')::int::text AS k, count(*) FROM scan.scans WHERE ` + where + ` GROUP BY 1`
	case "day":
		sql = `SELECT to_char(scanned_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS k, count(*) FROM scan.scans WHERE ` + where + ` GROUP BY 1 ORDER BY 1`
	case "district":
		sql = `SELECT district_code, count(*) FROM scan.scans WHERE ` + where + ` GROUP BY 1 ORDER BY 2 DESC, 1`
	case "industry":
		sql = `SELECT industry_code, count(*) FROM scan.scans WHERE ` + where + ` GROUP BY 1 ORDER BY 2 DESC, 1`
	case "top":
		// Names come from the registry's published read function, only
		// for the few rows shown.
		args = append(args, sq.Limit)
		sql = fmt.Sprintf(`SELECT t.credit_code, t.n, COALESCE((SELECT p.name FROM registry.public_page(t.credit_code) p), '')
			FROM (SELECT credit_code, count(*) AS n FROM scan.scans WHERE %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $%d) t
			ORDER BY t.n DESC, t.credit_code`, where, len(args))
	}
	rows, err := f.pool.Query(ctx, sql, args...)
	if err != nil {
		return res, store.Classify(err)
	}
	byKey := map[string]int64{}
	for rows.Next() {
		var s StatRow
		dst := []any{&s.Key, &s.Scans}
		if sq.Group == "top" {
			dst = append(dst, &s.Label)
		}
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return res, store.Classify(err)
		}
		res.Total += s.Scans
		byKey[s.Key] = s.Scans
		res.Items = append(res.Items, s)
	}
	if err := rows.Err(); err != nil {
		return res, store.Classify(err)
	}
	switch sq.Group {
	case "hour": // every hour of the day, so a chart has 24 bars
		res.Items = res.Items[:0]
		for h := range 24 {
			k := strconv.Itoa(h)
			res.Items = append(res.Items, StatRow{Key: k, Label: fmt.Sprintf("%02d:00–%02d:59", h, h), Scans: byKey[k]})
		}
	case "day": // every day of the range, zeros included
		res.Items = res.Items[:0]
		for d := sq.From; !d.After(sq.To); d = d.AddDate(0, 0, 1) {
			k := d.Format(time.DateOnly)
			res.Items = append(res.Items, StatRow{Key: k, Label: k, Scans: byKey[k]})
		}
	case "district":
		for i := range res.Items {
			if d, ok := codes.Divisions().Lookup(res.Items[i].Key); ok {
				res.Items[i].Label = d.Name
			}
		}
	case "industry":
		for i := range res.Items {
			if d, ok := codes.Industries().Lookup(res.Items[i].Key); ok {
				res.Items[i].Label = d.Name
			}
		}
	case "top":
		// Total is every scan in range, not only the top rows'.
		err := f.pool.QueryRow(ctx, `SELECT count(*) FROM scan.scans WHERE `+where, args[:len(args)-1]...).Scan(&res.Total)
		if err != nil {
			return res, store.Classify(err)
		}
	}
	return res, nil
}

func (f *Function) statsFor(r *http.Request) (StatsResult, error) {
	sq, err := f.statsQuery(r)
	if err != nil {
		return StatsResult{}, err
	}
	p, _ := auth.FromContext(r.Context())
	return f.Stats(r.Context(), sq, p.Scope)
}

func (f *Function) handleStats(w http.ResponseWriter, r *http.Request) {
	res, err := f.statsFor(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, res)
}

func (f *Function) handleStatsExport(w http.ResponseWriter, r *http.Request) {
	res, err := f.statsFor(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	x := excelize.NewFile()
	defer x.Close()
	sheet := "Sheet1"
	rows := [][]any{{"扫码统计（按" + groupNames[res.Group] + "）", res.From + " 至 " + res.To}, {"编码", groupNames[res.Group], "扫码次数"}}
	for _, it := range res.Items {
		rows = append(rows, []any{it.Key, it.Label, it.Scans})
	}
	rows = append(rows, []any{"合计", "", res.Total})
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := x.SetSheetRow(sheet, cell, &row); err != nil {
			f.fail(w, r, err)
			return
		}
	}
	name := fmt.Sprintf("扫码统计_%s_%s.xlsx", res.Group, f.now().In(shanghai).Format("20060102150405"))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	_ = x.Write(w)
}
