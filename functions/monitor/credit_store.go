package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// WeightsVersion is one stored version of the grading model.
type WeightsVersion struct {
	Version   int       `json:"version"`
	Weights   Weights   `json:"weights"`
	Note      string    `json:"note"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// currentWeights is the newest version, version 1 (the defaults) being
// written the first time anyone asks.
func currentWeights(ctx context.Context, q store.Querier, now time.Time) (WeightsVersion, error) {
	var v WeightsVersion
	var raw []byte
	err := q.QueryRow(ctx, `SELECT version, weights, note, created_by, created_at FROM monitor.credit_weights ORDER BY version DESC LIMIT 1`).
		Scan(&v.Version, &raw, &v.Note, &v.CreatedBy, &v.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		def, _ := json.Marshal(DefaultWeights())
		// Two first callers at once may both write the defaults; the later
		// row is the same model and harmless.
		_, err = q.Exec(ctx, `INSERT INTO monitor.credit_weights (weights, note, created_by, created_at)
			SELECT $1, '默认评价模型', 'system:monitor', $2 WHERE NOT EXISTS (SELECT 1 FROM monitor.credit_weights)`, def, now)
		if err != nil {
			return v, store.Classify(err)
		}
		return currentWeights(ctx, q, now)
	}
	if err != nil {
		return v, store.Classify(err)
	}
	return v, store.Classify(json.Unmarshal(raw, &v.Weights))
}

func listWeights(ctx context.Context, q store.Querier) ([]WeightsVersion, error) {
	rows, err := q.Query(ctx, `SELECT version, weights, note, created_by, created_at FROM monitor.credit_weights ORDER BY version DESC`)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WeightsVersion, error) {
		var v WeightsVersion
		var raw []byte
		if err := r.Scan(&v.Version, &raw, &v.Note, &v.CreatedBy, &v.CreatedAt); err != nil {
			return v, err
		}
		return v, json.Unmarshal(raw, &v.Weights)
	})
	return out, store.Classify(err)
}

func insertWeights(ctx context.Context, tx pgx.Tx, w Weights, note, by string, at time.Time) (WeightsVersion, error) {
	raw, _ := json.Marshal(w)
	v := WeightsVersion{Weights: w, Note: note, CreatedBy: by, CreatedAt: at}
	err := tx.QueryRow(ctx, `INSERT INTO monitor.credit_weights (weights, note, created_by, created_at) VALUES ($1,$2,$3,$4) RETURNING version`,
		raw, note, by, at).Scan(&v.Version)
	return v, store.Classify(err)
}

// CreditRecord is a public credit record of an entity.
type CreditRecord struct {
	ID         int64     `json:"id"`
	CreditCode string    `json:"credit_code"`
	EntityName string    `json:"entity_name"`
	District   string    `json:"district"`
	Kind       string    `json:"kind"`
	Ref        string    `json:"ref"`
	Detail     string    `json:"detail"`
	OccurredAt time.Time `json:"occurred_at"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
}

func insertRecord(ctx context.Context, tx pgx.Tx, r CreditRecord) (CreditRecord, bool, error) {
	err := tx.QueryRow(ctx, `INSERT INTO monitor.credit_records (credit_code, entity_name, district, district_code, kind, ref, detail,
		occurred_at, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (kind, ref) DO NOTHING RETURNING id`,
		r.CreditCode, r.EntityName, r.District, districtCode(r.District), r.Kind, r.Ref, r.Detail, r.OccurredAt, r.CreatedBy, r.CreatedAt).Scan(&r.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, store.Classify(err)
}

// entityEvidence gathers an entity's evidence by factor, and its name and
// district from its newest clue or record. ok is false when the monitor
// knows nothing of the code.
func entityEvidence(ctx context.Context, q store.Querier, code string, since time.Time) (name, district string, ev map[string][]Evidence, ok bool, err error) {
	ev = map[string][]Evidence{}
	rows, err := q.Query(ctx, `SELECT kind, ref, detail, entity_name, district, at FROM (
			SELECT CASE WHEN status IN ('confirmed', 'case') THEN 'clue_confirmed' ELSE 'clue_open' END AS kind,
				'clue:' || id AS ref, rule_id || '：' || term || '（' || object_name || '）' AS detail, entity_name, district, created_at AS at
			FROM monitor.clues WHERE credit_code = $1 AND status <> 'dismissed' AND created_at >= $2
			UNION ALL
			SELECT kind, ref, detail, entity_name, district, occurred_at FROM monitor.credit_records WHERE credit_code = $1 AND occurred_at >= $2
		) e ORDER BY at DESC, ref`, code, since)
	if err != nil {
		return "", "", nil, false, store.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, n, d string
		var e Evidence
		var at time.Time
		if err := rows.Scan(&kind, &e.Ref, &e.Detail, &n, &d, &at); err != nil {
			return "", "", nil, false, store.Classify(err)
		}
		if !ok {
			name, district, ok = n, d, true
		}
		ev[kind] = append(ev[kind], e)
	}
	if err := rows.Err(); err != nil {
		return "", "", nil, false, store.Classify(err)
	}
	if !ok {
		// Everything may have aged out of the window or been dismissed: the
		// entity keeps a grade (now clean) under the name it had.
		err = q.QueryRow(ctx, `SELECT entity_name, district FROM monitor.credit_grades WHERE credit_code = $1`, code).Scan(&name, &district)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", "", ev, false, nil
		}
		ok = err == nil
	}
	return name, district, ev, ok, store.Classify(err)
}

// recompute grades the entities named by codes with the current weights,
// writing a history row whenever the grade, the score or the model changed.
func recompute(ctx context.Context, tx pgx.Tx, codes []string, cause string, now time.Time) (int, error) {
	wv, err := currentWeights(ctx, tx, now)
	if err != nil {
		return 0, err
	}
	since := now.AddDate(0, 0, -wv.Weights.WindowDays)
	n := 0
	seen := map[string]bool{}
	for _, code := range codes {
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		name, district, ev, ok, err := entityEvidence(ctx, tx, code, since)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		g := Grade(wv.Weights, ev)
		factors, _ := json.Marshal(g.Factors)
		var changed bool
		err = tx.QueryRow(ctx, `WITH old AS (SELECT score, grade, weights_version FROM monitor.credit_grades WHERE credit_code = $1 FOR UPDATE),
			up AS (INSERT INTO monitor.credit_grades (credit_code, entity_name, district, district_code, score, grade, interval_days, factors,
				weights_version, cause, computed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
				ON CONFLICT (credit_code) DO UPDATE SET entity_name = EXCLUDED.entity_name, district = EXCLUDED.district,
				district_code = EXCLUDED.district_code, score = EXCLUDED.score, grade = EXCLUDED.grade, interval_days = EXCLUDED.interval_days,
				factors = EXCLUDED.factors, weights_version = EXCLUDED.weights_version, cause = EXCLUDED.cause, computed_at = EXCLUDED.computed_at)
			SELECT NOT EXISTS (SELECT 1 FROM old WHERE score = $5 AND grade = $6 AND weights_version = $9)`,
			code, name, district, districtCode(district), g.Score, g.Grade, g.IntervalDays, factors, wv.Version, cause, now).Scan(&changed)
		if err != nil {
			return n, store.Classify(err)
		}
		if changed {
			if _, err := tx.Exec(ctx, `INSERT INTO monitor.credit_history (credit_code, score, grade, factors, weights_version, cause, computed_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7)`, code, g.Score, g.Grade, factors, wv.Version, cause, now); err != nil {
				return n, store.Classify(err)
			}
		}
		n++
	}
	return n, nil
}

// gradedCodes is every credit code the monitor knows of.
func gradedCodes(ctx context.Context, q store.Querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT credit_code FROM monitor.clues WHERE credit_code <> '' UNION
		SELECT credit_code FROM monitor.credit_records UNION SELECT credit_code FROM monitor.credit_grades ORDER BY 1`)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, store.Classify(err)
}

// CreditGrade is an entity's current grade with its explanation.
type CreditGrade struct {
	CreditCode     string      `json:"credit_code"`
	EntityName     string      `json:"entity_name"`
	District       string      `json:"district"`
	DistrictCode   string      `json:"district_code"`
	Score          int         `json:"score"`
	Grade          string      `json:"grade"`
	IntervalDays   int         `json:"interval_days"`
	Factors        []Explained `json:"factors"`
	WeightsVersion int         `json:"weights_version"`
	Cause          string      `json:"cause"`
	ComputedAt     time.Time   `json:"computed_at"`
	History        []GradeStep `json:"history,omitempty"`
}

// GradeStep is one change of a grade.
type GradeStep struct {
	Score          int       `json:"score"`
	Grade          string    `json:"grade"`
	WeightsVersion int       `json:"weights_version"`
	Cause          string    `json:"cause"`
	ComputedAt     time.Time `json:"computed_at"`
}

const gradeCols = `credit_code, entity_name, district, district_code, score, grade, interval_days, factors, weights_version, cause, computed_at`

func scanGrade(r pgx.Row) (CreditGrade, error) {
	var g CreditGrade
	var raw []byte
	if err := r.Scan(&g.CreditCode, &g.EntityName, &g.District, &g.DistrictCode, &g.Score, &g.Grade, &g.IntervalDays, &raw,
		&g.WeightsVersion, &g.Cause, &g.ComputedAt); err != nil {
		return g, err
	}
	return g, json.Unmarshal(raw, &g.Factors)
}

// GradeFilter narrows the grade list.
type GradeFilter struct {
	Grade, District, Q string
	Scope              auth.Scope
}

func listGrades(ctx context.Context, q store.Querier, fl GradeFilter, p httpx.Page) ([]CreditGrade, int, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return fl.Scope.Filter("district_code", "NULL", args) })
	if fl.Grade != "" {
		w.Add("grade = ?", fl.Grade)
	}
	if fl.District != "" {
		w.Add("(district = ? OR district_code = ?)", fl.District, fl.District)
	}
	if fl.Q != "" {
		w.Add("(entity_name ILIKE '%' || ? || '%' OR credit_code = ?)", fl.Q, fl.Q)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM monitor.credit_grades`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+gradeCols+` FROM monitor.credit_grades`+w.SQL()+` ORDER BY score, credit_code LIMIT `+w.Next(p.Size)+
		` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CreditGrade, error) { return scanGrade(r) })
	return out, total, store.Classify(err)
}

// GradeCount is how many entities hold a grade.
type GradeCount struct {
	Grade string `json:"grade"`
	Count int    `json:"count"`
}

func gradeCounts(ctx context.Context, q store.Querier, s auth.Scope) ([]GradeCount, error) {
	var args []any
	rows, err := q.Query(ctx, `SELECT g, count(c.credit_code) FROM unnest(ARRAY['A','B','C','D']) g
		LEFT JOIN monitor.credit_grades c ON c.grade = g AND `+s.Filter("c.district_code", "NULL", &args)+` GROUP BY g ORDER BY g`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (GradeCount, error) {
		var c GradeCount
		return c, r.Scan(&c.Grade, &c.Count)
	})
	return out, store.Classify(err)
}

func getGrade(ctx context.Context, q store.Querier, code string, s auth.Scope) (CreditGrade, error) {
	args := []any{code}
	g, err := scanGrade(q.QueryRow(ctx, `SELECT `+gradeCols+` FROM monitor.credit_grades WHERE credit_code = $1 AND `+
		s.Filter("district_code", "NULL", &args), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		// Outside the scope answers as not there at all.
		return g, errs.New(errs.NotFound, "该主体暂无信用等级")
	}
	if err != nil {
		return g, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT score, grade, weights_version, cause, computed_at FROM monitor.credit_history
		WHERE credit_code = $1 ORDER BY id DESC LIMIT 100`, code)
	if err != nil {
		return g, store.Classify(err)
	}
	g.History, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (GradeStep, error) {
		var h GradeStep
		return h, r.Scan(&h.Score, &h.Grade, &h.WeightsVersion, &h.Cause, &h.ComputedAt)
	})
	return g, store.Classify(err)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
