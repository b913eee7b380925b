package metrology

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// raiseAlarms inserts the missing alarms of today, set-based.
func raiseAlarms(ctx context.Context, tx pgx.Tx, today time.Time) (int64, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO metrology.alarms (instrument_id, credit_code, valid_until, raised_on, year, overdue_days)
		SELECT i.id, i.credit_code, i.valid_until, $1::date, extract(year FROM $1::date)::int, $1::date - i.valid_until
		FROM metrology.instruments i
		WHERE i.status = 'in_use' AND i.valid_until < $1::date
		ON CONFLICT (instrument_id, valid_until) DO NOTHING`, today)
	return tag.RowsAffected(), store.Classify(err)
}

const alarmSelect = `SELECT a.id, a.instrument_id, i.name, i.serial_no, a.credit_code, e.name, e.district_code,
	to_char(a.valid_until, 'YYYY-MM-DD'), to_char(a.raised_on, 'YYYY-MM-DD'), a.year, a.overdue_days, a.read_at IS NOT NULL, a.read_at, a.read_by
	FROM metrology.alarms a JOIN metrology.instruments i ON i.id = a.instrument_id JOIN metrology.enterprises e ON e.credit_code = a.credit_code`

func scanAlarm(r pgx.Row) (Alarm, error) {
	var a Alarm
	err := r.Scan(&a.ID, &a.InstrumentID, &a.InstrumentName, &a.SerialNo, &a.CreditCode, &a.EnterpriseName, &a.DistrictName,
		&a.ValidUntil, &a.RaisedOn, &a.Year, &a.OverdueDays, &a.Read, &a.ReadAt, &a.ReadBy)
	a.DistrictName = divisionName(a.DistrictName)
	return a, err
}

func collectAlarms(rows pgx.Rows, err error) ([]Alarm, error) {
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Alarm, error) { return scanAlarm(r) })
	if out == nil {
		out = []Alarm{}
	}
	return out, store.Classify(err)
}

func alarmsOf(ctx context.Context, q store.Querier, in OpenInput) ([]Alarm, error) {
	var w store.Where
	w.Add("a.credit_code = ? AND a.year = ?", in.CreditCode, in.Year)
	switch in.State {
	case "unread":
		w.Add("a.read_at IS NULL")
	case "read":
		w.Add("a.read_at IS NOT NULL")
	}
	return collectAlarms(q.Query(ctx, alarmSelect+w.SQL()+` ORDER BY a.raised_on DESC, a.id DESC LIMIT 1000`, w.Args()...))
}

func markRead(ctx context.Context, tx pgx.Tx, ids []int64, by string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE metrology.alarms SET read_at = $2, read_by = $3 WHERE id = ANY($1::bigint[]) AND read_at IS NULL`, ids, now, by)
	return store.Classify(err)
}

// AlarmFilter narrows the alarm list.
type AlarmFilter struct {
	Code, State string
	Year        int
}

func listAlarms(ctx context.Context, q store.Querier, v viewer, flt AlarmFilter, p httpx.Page) ([]Alarm, int, error) {
	var w store.Where
	w.AddWith(v.entFilter)
	if flt.Code != "" {
		w.Add("a.credit_code = ?", flt.Code)
	}
	if flt.Year != 0 {
		w.Add("a.year = ?", flt.Year)
	}
	switch flt.State {
	case "unread":
		w.Add("a.read_at IS NULL")
	case "read":
		w.Add("a.read_at IS NOT NULL")
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM metrology.alarms a JOIN metrology.enterprises e ON e.credit_code = a.credit_code`+w.SQL(),
		w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := collectAlarms(q.Query(ctx, alarmSelect+w.SQL()+` ORDER BY a.raised_on DESC, a.id DESC LIMIT `+w.Next(p.Size)+
		` OFFSET `+w.Next(p.Offset()), w.Args()...))
	return items, total, err
}

func alarmStats(ctx context.Context, q store.Querier, v viewer, year int, sort httpx.Sort) ([]AlarmStat, error) {
	var w store.Where
	w.Add("a.year = ?", year)
	w.AddWith(v.entFilter)
	col := map[string]string{"total": "total", "unread": "unread", "read": "read", "enterprise": "e.name"}[sort.Field]
	if col == "" {
		col = "total"
	}
	rows, err := q.Query(ctx, `SELECT a.credit_code, e.name, e.district_code,
			count(*) FILTER (WHERE a.read_at IS NULL) AS unread, count(*) FILTER (WHERE a.read_at IS NOT NULL) AS read, count(*) AS total
		FROM metrology.alarms a JOIN metrology.enterprises e ON e.credit_code = a.credit_code`+w.SQL()+`
		GROUP BY a.credit_code, e.name, e.district_code ORDER BY `+col+` `+sort.Dir()+`, a.credit_code LIMIT 1000`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AlarmStat, error) {
		var s AlarmStat
		err := r.Scan(&s.CreditCode, &s.EnterpriseName, &s.DistrictName, &s.Unread, &s.Read, &s.Total)
		s.DistrictName = divisionName(s.DistrictName)
		return s, err
	})
	if out == nil {
		out = []AlarmStat{}
	}
	return out, store.Classify(err)
}

func evidenceOf(ctx context.Context, q store.Querier, code string, ids []int64) (bool, error) {
	if len(ids) == 0 {
		return true, nil
	}
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM metrology.field_records WHERE id = ANY($1::bigint[]) AND credit_code = $2`, ids, code).Scan(&n)
	return n == len(ids), store.Classify(err)
}

func insertPenalty(ctx context.Context, tx pgx.Tx, in PenaltyInput, days int, by string, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO metrology.penalties (credit_code, instrument_id, overdue_days, evidence, result, decided_on, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6::date, $7, $8) RETURNING id`, in.CreditCode, in.InstrumentID, days, in.Evidence, in.Result, in.DecidedOn, by, now).Scan(&id)
	return id, store.Classify(err)
}

const penaltySelect = `SELECT c.id, c.credit_code, e.name, e.district_code, c.instrument_id, i.name, i.serial_no, c.overdue_days, c.evidence,
	c.result, to_char(c.decided_on, 'YYYY-MM-DD'), c.created_by, c.created_at
	FROM metrology.penalties c JOIN metrology.enterprises e ON e.credit_code = c.credit_code JOIN metrology.instruments i ON i.id = c.instrument_id`

func scanPenalty(r pgx.Row) (Penalty, error) {
	var p Penalty
	err := r.Scan(&p.ID, &p.CreditCode, &p.EnterpriseName, &p.DistrictName, &p.InstrumentID, &p.InstrumentName, &p.SerialNo, &p.OverdueDays,
		&p.Evidence, &p.Result, &p.DecidedOn, &p.CreatedBy, &p.CreatedAt)
	p.DistrictName = divisionName(p.DistrictName)
	if p.Evidence == nil {
		p.Evidence = []int64{}
	}
	return p, store.Classify(err)
}

func getPenalty(ctx context.Context, q store.Querier, id int64) (Penalty, error) {
	return scanPenalty(q.QueryRow(ctx, penaltySelect+` WHERE c.id = $1`, id))
}

func listPenalties(ctx context.Context, q store.Querier, v viewer, code string, p httpx.Page) ([]Penalty, int, error) {
	var w store.Where
	w.AddWith(v.entFilter)
	if code != "" {
		w.Add("c.credit_code = ?", code)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM metrology.penalties c JOIN metrology.enterprises e ON e.credit_code = c.credit_code`+w.SQL(),
		w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, penaltySelect+w.SQL()+` ORDER BY c.decided_on DESC, c.id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()),
		w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Penalty, error) { return scanPenalty(r) })
	return out, total, store.Classify(err)
}
