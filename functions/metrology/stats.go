package metrology

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Statistics is FP-179: verification ratios by county, weekly visits, and
// instrument entries and changes per week, within the caller's scope.
type Statistics struct {
	Counties []CountyRatio `json:"counties"`
	Weeks    []WeekCount   `json:"weeks"`
	AsOf     string        `json:"as_of"`
}

// CountyRatio is one county's instruments in use and how many of them are
// verified and within their validity.
type CountyRatio struct {
	DistrictCode string  `json:"district_code"`
	DistrictName string  `json:"district_name"`
	Enterprises  int     `json:"enterprises"`
	InUse        int     `json:"in_use"`
	Valid        int     `json:"valid"`
	Overdue      int     `json:"overdue"`
	Ratio        float64 `json:"ratio"` // valid / in use; 0 when none in use
}

// WeekCount is one ISO week (starting Monday, Beijing time): visits in
// all and by the county and city bureaus, enterprises and institutions,
// and instruments entered and changed.
type WeekCount struct {
	WeekStart         string `json:"week_start"`
	Visits            int64  `json:"visits"`
	RegulatorVisits   int64  `json:"regulator_visits"`
	EnterpriseVisits  int64  `json:"enterprise_visits"`
	InstitutionVisits int64  `json:"institution_visits"`
	Entries           int64  `json:"entries"`
	Changes           int64  `json:"changes"`
}

// Statistics computes the figures for the last weeks (at most 52).
func (f *Function) Statistics(ctx context.Context, v viewer, weeks int) (Statistics, error) {
	today := f.today()
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	start := monday.AddDate(0, 0, -7*(weeks-1))
	out := Statistics{AsOf: today.Format(time.DateOnly)}
	var err error
	if out.Counties, err = countyRatios(ctx, f.pool, today, v); err != nil {
		return out, err
	}
	out.Counties = slices.DeleteFunc(out.Counties, func(c CountyRatio) bool { return !v.scope.Allows(c.DistrictCode, "") && v.kind == kindRegulator })
	out.Weeks, err = weekCounts(ctx, f.pool, v, start, weeks)
	return out, err
}

// Visit counts one visit of a page by the caller's party (the console's
// and the mobile page's views call it), for the weekly visits.
func (f *Function) Visit(ctx context.Context, v viewer, page string) error {
	if page == "" || len(page) > 40 || strings.ContainsRune(page, ':') {
		return errs.Fields([]errs.FieldError{{Field: "page", Message: "页面名称不正确"}})
	}
	_, err := f.pool.Exec(ctx, `INSERT INTO metrology.visits (day, page, count) VALUES ($1, $2, 1)
		ON CONFLICT (day, page) DO UPDATE SET count = visits.count + 1`, f.today(), v.kind+":"+page)
	return store.Classify(err)
}

func countyRatios(ctx context.Context, q store.Querier, today time.Time, v viewer) ([]CountyRatio, error) {
	w := dated(today)
	w.AddWith(v.entFilter)
	rows, err := q.Query(ctx, `SELECT e.district_code, count(DISTINCT e.credit_code),
			count(i.id) FILTER (WHERE i.status = 'in_use'),
			count(i.id) FILTER (WHERE i.status = 'in_use' AND i.valid_until >= $1::date AND i.last_result = 'pass'),
			count(i.id) FILTER (WHERE i.status = 'in_use' AND i.valid_until < $1::date)
		FROM metrology.enterprises e LEFT JOIN metrology.instruments i ON i.credit_code = e.credit_code`+w.SQL()+`
		GROUP BY e.district_code ORDER BY e.district_code`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CountyRatio, error) {
		var c CountyRatio
		err := r.Scan(&c.DistrictCode, &c.Enterprises, &c.InUse, &c.Valid, &c.Overdue)
		c.DistrictName = divisionName(c.DistrictCode)
		if c.InUse > 0 {
			c.Ratio = float64(c.Valid) / float64(c.InUse)
		}
		return c, err
	})
	if out == nil {
		out = []CountyRatio{}
	}
	return out, store.Classify(err)
}

func weekCounts(ctx context.Context, q store.Querier, v viewer, start time.Time, weeks int) ([]WeekCount, error) {
	var w store.Where
	w.AddWith(func(a *[]any) string { *a = append(*a, start, weeks); return "TRUE" })
	w.AddWith(v.entFilter)
	rows, err := q.Query(ctx, `WITH wk AS (SELECT ($1::date + 7 * g) AS s FROM generate_series(0, $2::int - 1) g)
		SELECT to_char(wk.s, 'YYYY-MM-DD'),
			(SELECT COALESCE(sum(count), 0) FROM metrology.visits x WHERE x.day >= wk.s AND x.day < wk.s + 7),
			(SELECT COALESCE(sum(count), 0) FROM metrology.visits x WHERE x.day >= wk.s AND x.day < wk.s + 7 AND x.page LIKE 'regulator:%'),
			(SELECT COALESCE(sum(count), 0) FROM metrology.visits x WHERE x.day >= wk.s AND x.day < wk.s + 7 AND x.page LIKE 'enterprise:%'),
			(SELECT COALESCE(sum(count), 0) FROM metrology.visits x WHERE x.day >= wk.s AND x.day < wk.s + 7 AND x.page LIKE 'institution:%'),
			(SELECT count(*) FROM metrology.instrument_changes c JOIN metrology.instruments i ON i.id = c.instrument_id
				JOIN metrology.enterprises e ON e.credit_code = i.credit_code
				WHERE c.kind = 'created' AND (c.at AT TIME ZONE 'Asia/Shanghai')::date >= wk.s AND (c.at AT TIME ZONE 'Asia/Shanghai')::date < wk.s + 7 AND `+
		w.And()+`),
			(SELECT count(*) FROM metrology.instrument_changes c JOIN metrology.instruments i ON i.id = c.instrument_id
				JOIN metrology.enterprises e ON e.credit_code = i.credit_code
				WHERE c.kind IN ('status', 'edited') AND (c.at AT TIME ZONE 'Asia/Shanghai')::date >= wk.s AND (c.at AT TIME ZONE 'Asia/Shanghai')::date < wk.s + 7 AND `+
		w.And()+`)
		FROM wk ORDER BY wk.s`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WeekCount, error) {
		var c WeekCount
		return c, r.Scan(&c.WeekStart, &c.Visits, &c.RegulatorVisits, &c.EnterpriseVisits, &c.InstitutionVisits, &c.Entries, &c.Changes)
	})
	return out, store.Classify(err)
}

// Mine is the enterprise's own view (the mobile query page, FP-180): its
// record, instruments, recent applications and unread alarms. An account
// not bound to an enterprise gets an empty view.
type Mine struct {
	Bound        bool          `json:"bound"`
	Enterprise   *Enterprise   `json:"enterprise"`
	Instruments  []Instrument  `json:"instruments"`
	Applications []Application `json:"applications"`
	UnreadAlarms int           `json:"unread_alarms"`
	Hints        Hints         `json:"hints"`
}

// MineOf builds the enterprise's own view.
func (f *Function) MineOf(ctx context.Context, v viewer) (Mine, error) {
	out := Mine{Instruments: []Instrument{}, Applications: []Application{}, Hints: RegistrationHints()}
	if v.kind != kindEnterprise || v.ref == "" {
		return out, nil
	}
	e, err := f.GetEnterprise(ctx, v, v.ref)
	if err != nil {
		return out, err
	}
	out.Bound, out.Enterprise = true, &e
	if out.Instruments, _, err = listInstruments(ctx, f.pool, f.today(), v, InstrumentFilter{Code: v.ref}, httpx.Page{Page: 1, Size: 200}); err != nil {
		return out, err
	}
	if out.Applications, _, err = listApplications(ctx, f.pool, f.today(), v, ApplicationFilter{Code: v.ref}, httpx.Page{Page: 1, Size: 10}); err != nil {
		return out, err
	}
	err = f.pool.QueryRow(ctx, `SELECT count(*) FROM metrology.alarms WHERE credit_code = $1 AND read_at IS NULL`, v.ref).Scan(&out.UnreadAlarms)
	if out.Instruments == nil {
		out.Instruments = []Instrument{}
	}
	if out.Applications == nil {
		out.Applications = []Application{}
	}
	return out, store.Classify(err)
}

// Hints are the registration hints (FP-177).
type Hints struct {
	Title string   `json:"title"`
	Items []string `json:"items"`
	Email string   `json:"email"`
}

// RegistrationHints tells an instrument user how to register.
func RegistrationHints() Hints {
	return Hints{Title: "计量器具使用单位注册提示", Items: []string{
		"“统一社会信用代码”或“身份证号”：该号码作为您登录系统的默认账号，请确保填写正确，其中字母字符区分大小写。",
		"统一社会信用代码、身份证号码均为 18 位，末位字母请按证件上的大小写填写。",
		"注册后由所在县（市、区）市场监督管理局审核，审核通过后即可登记强检计量器具、申请检定。",
	}, Email: "“电子邮箱”：该邮箱地址作为您找回密码的接收邮件的唯一地址，请牢记。"}
}
