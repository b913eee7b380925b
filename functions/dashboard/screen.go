package dashboard

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Screen is the big screen's data (FP-101), all of it from the rollups in
// the caller's data scope, so one call stays within the board's budget
// however often the screen refreshes.
type Screen struct {
	GeneratedAt time.Time       `json:"generated_at"`
	District    string          `json:"district,omitempty"` // the county the numbers are narrowed to (the map's selection)
	RefreshedAt *time.Time      `json:"refreshed_at"`
	Notice      string          `json:"notice,omitempty"`
	Totals      ScreenTotals    `json:"totals"`
	Districts   []DistrictCount `json:"districts"`
	Types       []NamedCount    `json:"types"`
	Records     []NamedCount    `json:"records"`
	Indicators  []Indicator     `json:"indicators"`
}

// ScreenTotals are the headline numbers.
type ScreenTotals struct {
	Entities     int64 `json:"entities"`
	Active       int64 `json:"active"`
	Revoked      int64 `json:"revoked"`
	Deregistered int64 `json:"deregistered"`
}

// DistrictCount is one county of the scope, on the map and in the ranking.
type DistrictCount struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Active int64  `json:"active"`
	Total  int64  `json:"total"`
}

// NamedCount is one slice of a share chart.
type NamedCount struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

func (f *Function) screen(r *http.Request) (any, error) {
	p := principal(r)
	out := Screen{GeneratedAt: f.now(), Districts: []DistrictCount{}, Types: []NamedCount{}, Records: []NamedCount{}, Indicators: []Indicator{}}
	scope := p.Scope
	// FP-132: a county picked on the map (or in the ranking) narrows every
	// other number on the screen; the map itself keeps the whole scope.
	if d := r.URL.Query().Get("district"); d != "" {
		if c, ok := codes.Divisions().Lookup(d); !ok || c.Level != codes.LevelCounty {
			return nil, errs.Fields([]errs.FieldError{{Field: "district", Message: "区县代码不是石家庄市的区县"}})
		}
		out.District, scope = d, narrow(p.Scope, []string{d})
	}
	if p.Scope.IsEmpty() {
		out.Notice = EmptyScopeNotice
		return out, nil
	}
	ctx := r.Context()
	if err := screenCounts(ctx, f.pool, scope, &out); err != nil {
		return nil, err
	}
	if out.District != "" {
		var whole Screen
		if err := screenCounts(ctx, f.pool, p.Scope, &whole); err != nil {
			return nil, err
		}
		out.Districts = whole.Districts
	}
	items, err := listIndicators(ctx, f.pool, 0, false)
	if err != nil {
		return nil, err
	}
	// Only what the rollups answer: the screen refreshes every minute on
	// many walls, and a raw-table indicator would make each refresh slow.
	for _, it := range items {
		if n, rolled, err := countRolled(ctx, f.pool, scope, it.Conditions); err != nil {
			return nil, err
		} else if rolled {
			it.Value, it.FromRollup = &n, true
			out.Indicators = append(out.Indicators, it)
		}
	}
	switch {
	case out.District != "" && scope.IsEmpty():
		out.Notice = "所选区县不在您的数据范围内"
	case out.Totals.Entities == 0:
		out.Notice = "数据范围内暂无市场主体数据"
	}
	return out, nil
}

// countRolled counts cs from the rollups, or reports that they cannot.
func countRolled(ctx context.Context, q store.Querier, s auth.Scope, cs []Condition) (int64, bool, error) {
	if !rollupAnswers(cs) {
		return 0, false, nil
	}
	return count(ctx, q, s, cs)
}

func screenCounts(ctx context.Context, q store.Querier, s auth.Scope, out *Screen) error {
	var args []any
	scope := s.Filter("u.district_code", "u.township_code", &args)
	rows, err := q.Query(ctx, `SELECT u.district_code, u.entity_type, u.status, sum(u.entities)::bigint FROM dashboard.rollup u
		WHERE `+scope+` GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return store.Classify(err)
	}
	byDistrict, byType := map[string]*DistrictCount{}, map[string]int64{}
	for rows.Next() {
		var d, typ, status string
		var n int64
		if err := rows.Scan(&d, &typ, &status, &n); err != nil {
			rows.Close()
			return store.Classify(err)
		}
		out.Totals.Entities += n
		dc := byDistrict[d]
		if dc == nil {
			dc = &DistrictCount{Code: d}
			byDistrict[d] = dc
		}
		dc.Total += n
		switch status {
		case "active":
			out.Totals.Active += n
			dc.Active += n
			byType[typ] += n
		case "revoked":
			out.Totals.Revoked += n
		case "deregistered":
			out.Totals.Deregistered += n
		}
	}
	if err := rows.Err(); err != nil {
		return store.Classify(err)
	}
	// Every county of the scope is listed, a zero included, so the map
	// colours all of them and the ranking shows who has none.
	for _, c := range codes.Divisions().Counties() {
		dc := byDistrict[c.Code]
		if dc == nil {
			if !s.Allows(c.Code, "") && !scopeTouches(s, c.Code) {
				continue
			}
			dc = &DistrictCount{Code: c.Code}
		}
		dc.Name = c.Name
		out.Districts = append(out.Districts, *dc)
	}
	slices.SortStableFunc(out.Districts, func(a, b DistrictCount) int { return int(min(max(b.Active-a.Active, -1), 1)) })
	for code, name := range entityTypes {
		if n := byType[code]; n > 0 {
			out.Types = append(out.Types, NamedCount{Code: code, Name: name, Count: n})
		}
	}
	slices.SortFunc(out.Types, func(a, b NamedCount) int { return int(min(max(b.Count-a.Count, -1), 1)) })

	args = args[:0]
	scope = s.Filter("u.district_code", "u.township_code", &args)
	rows, err = q.Query(ctx, `SELECT u.kind, sum(u.entities)::bigint FROM dashboard.record_rollup u WHERE `+scope+
		` AND u.kind <> '' GROUP BY 1 ORDER BY 2 DESC, 1`, args...)
	if err != nil {
		return store.Classify(err)
	}
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (NamedCount, error) {
		var c NamedCount
		err := r.Scan(&c.Code, &c.Count)
		c.Name = recordKinds[c.Code]
		return c, err
	})
	if err != nil {
		return store.Classify(err)
	}
	out.Records = append(out.Records, recs...)
	var at *time.Time
	if err := q.QueryRow(ctx, `SELECT max(refreshed_at) FROM dashboard.rollup_meta`).Scan(&at); err != nil {
		return store.Classify(err)
	}
	out.RefreshedAt = at
	return nil
}

// scopeTouches reports whether a scope narrowed to townships reaches county.
func scopeTouches(s auth.Scope, county string) bool {
	for _, t := range s.Townships {
		if len(t) >= 6 && t[:6] == county {
			return true
		}
	}
	return false
}

// districtMap serves the schematic district map the screen draws (no
// online tiles).
func (f *Function) districtMap(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(codes.SchematicMap())
}

func divisionName(code string) (string, bool) {
	d, ok := codes.Divisions().Lookup(code)
	return d.Name, ok
}
