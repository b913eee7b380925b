package dashboard

import (
	"context"
	"net/http"
	"time"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// PenaltyBoard is FP-119's answer: cases filed per county, the five-year
// trend of filing and closing, and the case types with their fines, in
// the caller's scope, for a period of months and optionally one case type.
type PenaltyBoard struct {
	GeneratedAt time.Time      `json:"generated_at"`
	RefreshedAt *time.Time     `json:"refreshed_at"`
	District    string         `json:"district,omitempty"`
	CaseType    string         `json:"case_type,omitempty"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	Notice      string         `json:"notice,omitempty"`
	Options     []Option       `json:"options"`
	Totals      PenaltyCount   `json:"totals"`
	Districts   []PenaltyCount `json:"districts"`
	Types       []PenaltyCount `json:"types"`
	Trend       []PenaltyYear  `json:"trend"`
}

// PenaltyCount is one bar or slice: a county or a case type. Amount is
// the fines' sum in yuan.
type PenaltyCount struct {
	Code   string  `json:"code,omitempty"`
	Name   string  `json:"name,omitempty"`
	Cases  int64   `json:"cases"`
	Closed int64   `json:"closed"`
	Amount float64 `json:"amount"`
}

// PenaltyYear is one year of the trend: cases decided that year, and of
// them those closed by now (the records carry no closing date, so a case
// closes in the year it was filed).
type PenaltyYear struct {
	Year   int   `json:"year"`
	Filed  int64 `json:"filed"`
	Closed int64 `json:"closed"`
}

type penaltyFilter struct {
	scope    auth.Scope
	caseType string
	from, to time.Time // first days of the first and last months
}

// parseMonth reads YYYY-MM.
func parseMonth(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01", s)
	return t, err == nil && t.Year() >= 1990
}

func (f *Function) parsePenaltyFilter(r *http.Request) (penaltyFilter, string, string, error) {
	s, district, notice, err := topicScope(r)
	if err != nil {
		return penaltyFilter{}, "", "", err
	}
	q := r.URL.Query()
	now := f.now().In(beijing())
	pf := penaltyFilter{scope: s, caseType: q.Get("case_type"),
		from: time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC), to: time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)}
	var fe []errs.FieldError
	if pf.caseType != "" && !optionKnown(caseTypes, pf.caseType) {
		fe = append(fe, errs.FieldError{Field: "case_type", Message: "案件类型不正确，应为看板列出的类型之一"})
	}
	var ok bool
	if v := q.Get("from"); v != "" {
		if pf.from, ok = parseMonth(v); !ok {
			fe = append(fe, errs.FieldError{Field: "from", Message: "开始月份格式应为 YYYY-MM"})
		}
	}
	if v := q.Get("to"); v != "" {
		if pf.to, ok = parseMonth(v); !ok {
			fe = append(fe, errs.FieldError{Field: "to", Message: "结束月份格式应为 YYYY-MM"})
		}
	}
	if len(fe) == 0 {
		switch {
		case pf.from.After(pf.to):
			fe = append(fe, errs.FieldError{Field: "from", Message: "开始月份不能晚于结束月份"})
		case pf.to.After(time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)):
			fe = append(fe, errs.FieldError{Field: "to", Message: "结束月份不能晚于本月"})
		case pf.to.Year()-pf.from.Year() > 10:
			fe = append(fe, errs.FieldError{Field: "from", Message: "统计时段最长 10 年"})
		}
	}
	return pf, district, notice, errs.Fields(fe)
}

func (f *Function) penaltyBoard(r *http.Request) (any, error) {
	pf, district, notice, err := f.parsePenaltyFilter(r)
	if err != nil {
		return nil, err
	}
	out := PenaltyBoard{GeneratedAt: f.now(), District: district, CaseType: pf.caseType, From: pf.from.Format("2006-01"),
		To: pf.to.Format("2006-01"), Notice: notice, Options: caseTypes, Districts: []PenaltyCount{}, Types: []PenaltyCount{}, Trend: []PenaltyYear{}}
	if notice != "" {
		return out, nil
	}
	ctx := r.Context()
	if out.RefreshedAt, err = topicRefreshed(ctx, f.pool, "penalties"); err != nil {
		return nil, err
	}
	if err := penaltyCounts(ctx, f.pool, pf, &out); err != nil {
		return nil, err
	}
	if out.Totals.Cases == 0 {
		out.Notice = "所选时段和案件类型在数据范围内没有行政处罚案件"
	}
	return out, nil
}

func penaltyCounts(ctx context.Context, q store.Querier, pf penaltyFilter, out *PenaltyBoard) error {
	// One read covers the period and the five years of the trend.
	first := time.Date(pf.to.Year()-4, 1, 1, 0, 0, 0, 0, time.UTC)
	if pf.from.Before(first) {
		first = pf.from
	}
	args := []any{first, pf.to}
	where := `u.month BETWEEN $1 AND $2 AND ` + pf.scope.Filter("u.district_code", "u.township_code", &args)
	rows, err := q.Query(ctx, `SELECT u.case_type, u.district_code, u.month, u.closed, sum(u.cases)::bigint, sum(u.amount)::float8
		FROM dashboard.penalty_rollup u WHERE `+where+` GROUP BY 1, 2, 3, 4`, args...)
	if err != nil {
		return store.Classify(err)
	}
	byType, byDistrict := map[string]*PenaltyCount{}, map[string]*PenaltyCount{}
	for _, c := range caseTypes {
		byType[c.Code] = &PenaltyCount{Code: c.Code, Name: c.Name}
	}
	for _, c := range countiesOf(pf.scope) {
		byDistrict[c.Code] = &PenaltyCount{Code: c.Code, Name: c.Name}
	}
	trend := map[int]*PenaltyYear{}
	for y := pf.to.Year() - 4; y <= pf.to.Year(); y++ {
		trend[y] = &PenaltyYear{Year: y}
	}
	add := func(c *PenaltyCount, closed bool, n int64, amount float64) {
		c.Cases += n
		c.Amount += amount
		if closed {
			c.Closed += n
		}
	}
	for rows.Next() {
		var typ, d string
		var month time.Time
		var closed bool
		var n int64
		var amount float64
		if err := rows.Scan(&typ, &d, &month, &closed, &n, &amount); err != nil {
			rows.Close()
			return store.Classify(err)
		}
		inPeriod := !month.Before(pf.from) && !month.After(pf.to)
		if inPeriod {
			if c := byType[typ]; c != nil {
				add(c, closed, n, amount)
			}
		}
		if pf.caseType != "" && typ != pf.caseType {
			continue
		}
		if t := trend[month.Year()]; t != nil {
			t.Filed += n
			if closed {
				t.Closed += n
			}
		}
		if inPeriod {
			add(&out.Totals, closed, n, amount)
			if c := byDistrict[d]; c != nil {
				add(c, closed, n, amount)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return store.Classify(err)
	}
	for _, c := range caseTypes {
		out.Types = append(out.Types, *byType[c.Code])
	}
	for _, c := range countiesOf(pf.scope) {
		out.Districts = append(out.Districts, *byDistrict[c.Code])
	}
	for y := pf.to.Year() - 4; y <= pf.to.Year(); y++ {
		out.Trend = append(out.Trend, *trend[y])
	}
	return nil
}
