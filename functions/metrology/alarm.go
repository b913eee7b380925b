package metrology

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

// Alarm is an overdue-instrument alarm: one per instrument and lapsed
// validity, raised by the daily sweep.
type Alarm struct {
	ID             int64      `json:"id"`
	InstrumentID   int64      `json:"instrument_id"`
	InstrumentName string     `json:"instrument_name"`
	SerialNo       string     `json:"serial_no"`
	CreditCode     string     `json:"credit_code"`
	EnterpriseName string     `json:"enterprise_name"`
	DistrictName   string     `json:"district_name"`
	ValidUntil     string     `json:"valid_until"`
	RaisedOn       string     `json:"raised_on"`
	Year           int        `json:"year"`
	OverdueDays    int        `json:"overdue_days"`
	Read           bool       `json:"read"`
	ReadAt         *time.Time `json:"read_at"`
	ReadBy         string     `json:"read_by"`
}

// RaiseOverdue raises an alarm for each instrument in use past its
// valid-until date that has none for that date yet (so a re-run, or a
// redelivered tick, raises nothing), and tells the supervisors how many.
func (f *Function) RaiseOverdue(ctx context.Context, tx pgx.Tx) (int64, error) {
	today := f.today()
	n, err := raiseAlarms(ctx, tx, today)
	if err != nil || n == 0 {
		return n, err
	}
	return n, notify.Post(ctx, tx, Source, notify.Notice{Title: fmt.Sprintf("新增 %d 台超期未检强检计量器具", n), Level: notify.LevelWarning,
		Kind: "metrology_overdue", Link: "/console/#/metrology/alarms", Roles: []string{f.cfg.NoticeRole}, At: f.now(),
		Body: "截至 " + today.Format(time.DateOnly) + "，以上器具已超过检定有效期仍在使用，请督促使用单位申请检定。"})
}

// AlarmStat is one instrument user's alarm counts in a year (FP-172).
type AlarmStat struct {
	CreditCode     string `json:"credit_code"`
	EnterpriseName string `json:"enterprise_name"`
	DistrictName   string `json:"district_name"`
	Unread         int    `json:"unread"`
	Read           int    `json:"read"`
	Total          int    `json:"total"`
}

// AlarmStats is the per-user statistics of a year; Title carries the year.
type AlarmStats struct {
	Year  int         `json:"year"`
	Title string      `json:"title"`
	Items []AlarmStat `json:"items"`
}

var alarmSorts = []string{"total", "unread", "read", "enterprise"}

// Stats counts each visible user's alarms of year, sorted ascending by
// count (total by default; sort=unread / read, "-" for descending).
func (f *Function) AlarmStatistics(ctx context.Context, v viewer, year int, sort httpx.Sort) (AlarmStats, error) {
	items, err := alarmStats(ctx, f.pool, v, year, sort)
	return AlarmStats{Year: year, Title: strconv.Itoa(year) + "年度强检计量器具超期告警统计", Items: items}, err
}

// OpenInput opens the alarms behind a statistics count: one user's, of a
// year, unread, read or all of them.
type OpenInput struct {
	CreditCode string `json:"credit_code"`
	Year       int    `json:"year"`
	State      string `json:"state"`
}

// Validate checks what to open.
func (in *OpenInput) Validate() error {
	in.CreditCode = strings.ToUpper(strings.TrimSpace(in.CreditCode))
	var fe []errs.FieldError
	if in.Year < 2000 || in.Year > 2100 {
		fe = append(fe, errs.FieldError{Field: "year", Message: "年度不正确"})
	}
	if in.State != "unread" && in.State != "read" && in.State != "all" {
		fe = append(fe, errs.FieldError{Field: "state", Message: "state 应为 unread、read 或 all"})
	}
	return errs.Fields(fe)
}

// OpenedAlarms is what a count's link shows.
type OpenedAlarms struct {
	Items  []Alarm `json:"items"`
	Marked int     `json:"marked"` // how many were unread and are now read
}

// OpenAlarms lists the alarms behind a count and marks them read (FP-172:
// each count opens its alarms and marks them read).
func (f *Function) OpenAlarms(ctx context.Context, v viewer, in OpenInput) (OpenedAlarms, error) {
	var out OpenedAlarms
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := getEnterprise(ctx, tx, f.today(), in.CreditCode, false)
		if err != nil {
			return err
		}
		if err := f.mustSee(ctx, tx, v, e.CreditCode, e.DistrictCode, e.TownshipCode); err != nil {
			return err
		}
		if out.Items, err = alarmsOf(ctx, tx, in); err != nil {
			return err
		}
		var ids []int64
		for i := range out.Items {
			if !out.Items[i].Read {
				ids = append(ids, out.Items[i].ID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if err := markRead(ctx, tx, ids, v.actor(), f.now()); err != nil {
			return err
		}
		out.Marked = len(ids)
		return f.audit(ctx, tx, v, "metrology.alarm.read", "enterprise", e.CreditCode, e.DistrictCode, e.TownshipCode, nil,
			map[string]any{"year": in.Year, "alarms": ids})
	})
	return out, err
}

// Penalty is a penalty record for an overdue instrument (FP-171).
type Penalty struct {
	ID             int64     `json:"id"`
	CreditCode     string    `json:"credit_code"`
	EnterpriseName string    `json:"enterprise_name"`
	DistrictName   string    `json:"district_name"`
	InstrumentID   int64     `json:"instrument_id"`
	InstrumentName string    `json:"instrument_name"`
	SerialNo       string    `json:"serial_no"`
	OverdueDays    int       `json:"overdue_days"`
	Evidence       []int64   `json:"evidence"` // field record ids
	Result         string    `json:"result"`
	DecidedOn      string    `json:"decided_on"`
	CreatedBy      string    `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
}

// PenaltyInput records a penalty.
type PenaltyInput struct {
	CreditCode   string  `json:"credit_code"`
	InstrumentID int64   `json:"instrument_id"`
	Evidence     []int64 `json:"evidence"`
	Result       string  `json:"result"`
	DecidedOn    string  `json:"decided_on"`
}

// Validate checks a penalty record.
func (in *PenaltyInput) Validate() error {
	in.CreditCode, in.Result = strings.ToUpper(strings.TrimSpace(in.CreditCode)), strings.TrimSpace(in.Result)
	var fe []errs.FieldError
	if in.InstrumentID <= 0 {
		fe = append(fe, errs.FieldError{Field: "instrument_id", Message: "请选择超期器具"})
	}
	if n := utf8.RuneCountInString(in.Result); n < 2 || n > 500 {
		fe = append(fe, errs.FieldError{Field: "result", Message: "请填写处罚结果（2 至 500 个字）"})
	}
	if !isDate(in.DecidedOn) {
		fe = append(fe, errs.FieldError{Field: "decided_on", Message: "请填写处罚决定日期（YYYY-MM-DD）"})
	}
	if in.Evidence == nil {
		in.Evidence = []int64{}
	}
	return errs.Fields(fe)
}

// RecordPenalty records a penalty for an instrument overdue on the day of
// the decision; how long it was overdue is computed, and the evidence
// must be field records of the same user.
func (f *Function) RecordPenalty(ctx context.Context, v viewer, in PenaltyInput) (Penalty, error) {
	if v.kind != kindRegulator {
		return Penalty{}, errs.New(errs.Forbidden, "处罚记录由市场监管部门登记")
	}
	decided, _ := time.Parse(time.DateOnly, in.DecidedOn)
	if decided.After(f.today()) {
		return Penalty{}, errs.Fields([]errs.FieldError{{Field: "decided_on", Message: "处罚决定日期不能晚于今天"}})
	}
	var out Penalty
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := getEnterprise(ctx, tx, f.today(), in.CreditCode, false)
		if err != nil {
			return err
		}
		if err := f.mustSee(ctx, tx, v, e.CreditCode, e.DistrictCode, e.TownshipCode); err != nil {
			return err
		}
		inst, err := getInstrument(ctx, tx, f.today(), in.InstrumentID, false)
		if err != nil || inst.CreditCode != e.CreditCode {
			return errs.Fields([]errs.FieldError{{Field: "instrument_id", Message: "器具不存在或不属于该单位"}})
		}
		if inst.ValidUntil == nil || *inst.ValidUntil >= in.DecidedOn {
			return errs.Fields([]errs.FieldError{{Field: "instrument_id", Message: "该器具在处罚决定日未超过检定有效期"}})
		}
		until, _ := time.Parse(time.DateOnly, *inst.ValidUntil)
		days := int(decided.Sub(until).Hours() / 24)
		if ok, err := evidenceOf(ctx, tx, e.CreditCode, in.Evidence); err != nil || !ok {
			return firstErr(err, errs.Fields([]errs.FieldError{{Field: "evidence", Message: "证据应为该单位的现场检查记录"}}))
		}
		id, err := insertPenalty(ctx, tx, in, days, v.actor(), f.now())
		if err != nil {
			return err
		}
		if out, err = getPenalty(ctx, tx, id); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.penalty.create", "penalty", itoa(id), e.DistrictCode, e.TownshipCode, nil, out)
	})
	return out, err
}
