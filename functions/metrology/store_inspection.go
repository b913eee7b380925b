package metrology

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

func insertPlan(ctx context.Context, tx pgx.Tx, in PlanInput, by string, now time.Time) (int64, error) {
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO metrology.inspection_plans (name, district_code, starts_on, ends_on, note, created_by, created_at)
		VALUES ($1, $2, $3::date, $4::date, $5, $6, $7) RETURNING id`, in.Name, in.DistrictCode, in.StartsOn, in.EndsOn, in.Note, by, now).Scan(&id); err != nil {
		return 0, store.Classify(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO metrology.plan_targets (plan_id, credit_code) SELECT $1, unnest($2::text[])`, id, in.CreditCodes)
	return id, store.Classify(err)
}

const planColumns = `p.id, p.name, p.district_code, to_char(p.starts_on, 'YYYY-MM-DD'), to_char(p.ends_on, 'YYYY-MM-DD'), p.note, p.created_by, p.created_at`

func scanPlan(row pgx.Row) (Plan, error) {
	var p Plan
	err := row.Scan(&p.ID, &p.Name, &p.DistrictCode, &p.StartsOn, &p.EndsOn, &p.Note, &p.CreatedBy, &p.CreatedAt)
	p.DistrictName = divisionName(p.DistrictCode)
	p.Targets = []PlanTarget{}
	return p, store.Classify(err)
}

func getPlanRow(ctx context.Context, q store.Querier, id int64) (Plan, error) {
	return scanPlan(q.QueryRow(ctx, `SELECT `+planColumns+` FROM metrology.inspection_plans p WHERE p.id = $1`, id))
}

// planTargets reads a plan's enterprises with their statistics, recent
// history and plans, in three queries.
func planTargets(ctx context.Context, q store.Querier, today time.Time, v viewer, id int64) ([]PlanTarget, error) {
	w := dated(today)
	w.Add("pt.plan_id = ?", id)
	w.AddWith(v.entFilter)
	rows, err := q.Query(ctx, `SELECT e.credit_code, e.name, e.district_code,
			(SELECT count(*) FROM metrology.instruments i WHERE i.credit_code = e.credit_code AND i.status <> 'scrapped'),
			(SELECT count(*) FROM metrology.instruments i WHERE i.credit_code = e.credit_code AND i.status = 'in_use'),
			(SELECT count(*) FROM metrology.instruments i WHERE i.credit_code = e.credit_code AND i.status = 'in_use' AND i.valid_until < $1::date),
			(SELECT count(*) FROM metrology.verifications x WHERE x.credit_code = e.credit_code AND x.result = 'pass'),
			(SELECT count(*) FROM metrology.verifications x WHERE x.credit_code = e.credit_code AND x.result = 'fail'),
			(SELECT count(*) FROM metrology.field_records r WHERE r.credit_code = e.credit_code)
		FROM metrology.plan_targets pt JOIN metrology.enterprises e ON e.credit_code = pt.credit_code`+w.SQL()+` ORDER BY e.name`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	targets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PlanTarget, error) {
		var t PlanTarget
		err := r.Scan(&t.CreditCode, &t.Name, &t.DistrictName, &t.Instruments, &t.InUse, &t.Overdue, &t.Verified, &t.Failed, &t.FieldRecords)
		t.DistrictName = divisionName(t.DistrictName)
		t.History, t.Plans = []HistoryEntry{}, []PlanRef{}
		return t, err
	})
	if err != nil || len(targets) == 0 {
		return []PlanTarget{}, store.Classify(err)
	}
	at := map[string]int{}
	codes := make([]string, len(targets))
	for i, t := range targets {
		at[t.CreditCode], codes[i] = i, t.CreditCode
	}
	rows, err = q.Query(ctx, `SELECT code, kind, at, summary, ref FROM (
			SELECT x.credit_code AS code, 'verification' AS kind, x.created_at AS at,
				x.certificate_no || ' ' || CASE x.result WHEN 'pass' THEN '合格' ELSE '不合格' END AS summary, x.id AS ref,
				row_number() OVER (PARTITION BY x.credit_code ORDER BY x.created_at DESC) AS n
			FROM metrology.verifications x WHERE x.credit_code = ANY($1::text[])
			UNION ALL
			SELECT r.credit_code, 'field_record', r.recorded_at, left(r.text, 60), r.id,
				row_number() OVER (PARTITION BY r.credit_code ORDER BY r.recorded_at DESC)
			FROM metrology.field_records r WHERE r.credit_code = ANY($1::text[])
			UNION ALL
			SELECT c.credit_code, 'penalty', c.created_at, left(c.result, 60), c.id,
				row_number() OVER (PARTITION BY c.credit_code ORDER BY c.created_at DESC)
			FROM metrology.penalties c WHERE c.credit_code = ANY($1::text[])) h
		WHERE n <= 10 ORDER BY at DESC`, codes)
	if err != nil {
		return nil, store.Classify(err)
	}
	for rows.Next() {
		var code string
		var h HistoryEntry
		if err := rows.Scan(&code, &h.Kind, &h.At, &h.Summary, &h.RefID); err != nil {
			rows.Close()
			return nil, store.Classify(err)
		}
		targets[at[code]].History = append(targets[at[code]].History, h)
	}
	rows.Close()
	rows, err = q.Query(ctx, `SELECT pt.credit_code, p.id, p.name, to_char(p.starts_on, 'YYYY-MM-DD'), to_char(p.ends_on, 'YYYY-MM-DD')
		FROM metrology.plan_targets pt JOIN metrology.inspection_plans p ON p.id = pt.plan_id
		WHERE pt.credit_code = ANY($1::text[]) ORDER BY p.starts_on DESC, p.id DESC`, codes)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var p PlanRef
		if err := rows.Scan(&code, &p.ID, &p.Name, &p.StartsOn, &p.EndsOn); err != nil {
			return nil, store.Classify(err)
		}
		targets[at[code]].Plans = append(targets[at[code]].Plans, p)
	}
	return targets, store.Classify(rows.Err())
}

func listPlans(ctx context.Context, q store.Querier, v viewer, p httpx.Page) ([]Plan, int, error) {
	var w store.Where
	w.AddWith(func(a *[]any) string { return v.scope.Filter("p.district_code", "''", a) })
	if v.kind != kindRegulator {
		w.Add("FALSE")
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM metrology.inspection_plans p`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+planColumns+` FROM metrology.inspection_plans p`+w.SQL()+
		` ORDER BY p.starts_on DESC, p.id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	plans, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Plan, error) { return scanPlan(r) })
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	// The list shows each plan's targets by name (no statistics).
	for i := range plans {
		rows, err := q.Query(ctx, `SELECT e.credit_code, e.name, e.district_code FROM metrology.plan_targets pt
			JOIN metrology.enterprises e ON e.credit_code = pt.credit_code WHERE pt.plan_id = $1 ORDER BY e.name`, plans[i].ID)
		if err != nil {
			return nil, 0, store.Classify(err)
		}
		plans[i].Targets, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PlanTarget, error) {
			var t PlanTarget
			err := r.Scan(&t.CreditCode, &t.Name, &t.DistrictName)
			t.DistrictName = divisionName(t.DistrictName)
			t.History, t.Plans = []HistoryEntry{}, []PlanRef{}
			return t, err
		})
		if err != nil {
			return nil, 0, store.Classify(err)
		}
	}
	return plans, total, nil
}

func planHasTarget(ctx context.Context, q store.Querier, plan int64, code string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM metrology.plan_targets WHERE plan_id = $1 AND credit_code = $2)`, plan, code).Scan(&ok)
	return ok, store.Classify(err)
}

func insertFieldRecord(ctx context.Context, tx pgx.Tx, in FieldRecordInput, by string, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO metrology.field_records (plan_id, credit_code, instrument_id, inspector, text, photos, longitude, latitude, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, in.PlanID, in.CreditCode, in.InstrumentID, by, in.Text, in.Photos,
		in.Longitude, in.Latitude, now).Scan(&id)
	return id, store.Classify(err)
}

const fieldRecordSelect = `SELECT r.id, r.plan_id, COALESCE(p.name, ''), r.credit_code, e.name, e.district_code, e.township_code, r.instrument_id,
	r.inspector, r.text, r.photos, r.longitude, r.latitude, r.recorded_at
	FROM metrology.field_records r JOIN metrology.enterprises e ON e.credit_code = r.credit_code
	LEFT JOIN metrology.inspection_plans p ON p.id = r.plan_id`

func scanFieldRecord(row pgx.Row) (FieldRecord, error) {
	var fr FieldRecord
	err := row.Scan(&fr.ID, &fr.PlanID, &fr.PlanName, &fr.CreditCode, &fr.EnterpriseName, &fr.district, &fr.township, &fr.InstrumentID,
		&fr.Inspector, &fr.Text, &fr.keys, &fr.Longitude, &fr.Latitude, &fr.RecordedAt)
	fr.Photos, fr.DistrictName = len(fr.keys), divisionName(fr.district)
	return fr, store.Classify(err)
}

func getFieldRecord(ctx context.Context, q store.Querier, id int64) (FieldRecord, error) {
	return scanFieldRecord(q.QueryRow(ctx, fieldRecordSelect+` WHERE r.id = $1`, id))
}

func listFieldRecords(ctx context.Context, q store.Querier, v viewer, code string, plan int64, p httpx.Page) ([]FieldRecord, int, error) {
	var w store.Where
	w.AddWith(v.entFilter)
	if v.kind != kindRegulator {
		w.Add("FALSE")
	}
	if code != "" {
		w.Add("r.credit_code = ?", code)
	}
	if plan != 0 {
		w.Add("r.plan_id = ?", plan)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM metrology.field_records r JOIN metrology.enterprises e ON e.credit_code = r.credit_code`+w.SQL(),
		w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, fieldRecordSelect+w.SQL()+` ORDER BY r.recorded_at DESC, r.id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()),
		w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FieldRecord, error) { return scanFieldRecord(r) })
	return out, total, store.Classify(err)
}
