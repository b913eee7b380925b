package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Category is a node of the two-level tree of indicator categories.
type Category struct {
	ID       int64      `json:"id"`
	ParentID *int64     `json:"parent_id"`
	Name     string     `json:"name"`
	Sort     int        `json:"sort"`
	Children []Category `json:"children,omitempty"`
}

// Indicator is one KPI; Value is filled in the caller's data scope.
type Indicator struct {
	ID         int64       `json:"id"`
	CategoryID int64       `json:"category_id"`
	Category   string      `json:"category"`
	ParentName string      `json:"parent_category"`
	Name       string      `json:"name"`
	Kind       string      `json:"kind"`
	Unit       string      `json:"unit"`
	Conditions []Condition `json:"conditions"`
	Visible    bool        `json:"visible"`
	Wrap       bool        `json:"wrap"`
	Sort       int         `json:"sort"`
	UpdatedBy  string      `json:"updated_by"`
	UpdatedAt  time.Time   `json:"updated_at"`
	Value      *int64      `json:"value"`
	FromRollup bool        `json:"from_rollup"`
}

func listCategories(ctx context.Context, q store.Querier) ([]Category, error) {
	rows, err := q.Query(ctx, `SELECT id, parent_id, name, sort FROM dashboard.categories ORDER BY sort, id`)
	if err != nil {
		return nil, store.Classify(err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Category, error) {
		var c Category
		return c, r.Scan(&c.ID, &c.ParentID, &c.Name, &c.Sort)
	})
	if err != nil {
		return nil, store.Classify(err)
	}
	out := []Category{}
	for _, c := range all {
		if c.ParentID == nil {
			out = append(out, c)
		}
	}
	for i := range out {
		for _, c := range all {
			if c.ParentID != nil && *c.ParentID == out[i].ID {
				out[i].Children = append(out[i].Children, c)
			}
		}
	}
	return out, nil
}

func (f *Function) createCategory(ctx context.Context, in CategoryInput, who auditlog.Actor) (Category, error) {
	var c Category
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if in.ParentID != nil {
			var grand *int64
			if err := tx.QueryRow(ctx, `SELECT parent_id FROM dashboard.categories WHERE id = $1`, *in.ParentID).Scan(&grand); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return errs.New(errs.Invalid, "上级分类不存在")
				}
				return err
			}
			if grand != nil {
				return errs.New(errs.Invalid, "指标分类只有两级：二级分类下不能再建分类")
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO dashboard.categories (parent_id, name, sort) VALUES ($1, $2, $3)
			RETURNING id, parent_id, name, sort`, in.ParentID, in.Name, in.Sort).Scan(&c.ID, &c.ParentID, &c.Name, &c.Sort)
		if pgCode(err) == "23505" {
			return errs.New(errs.Conflict, "同一上级下已有同名分类")
		} else if err != nil {
			return err
		}
		return auditlog.RecordBy(ctx, tx, Source, who, auditlog.Operation{At: f.now(), Action: "dashboard.category.create",
			ObjectType: "kpi_category", ObjectID: itoa(int(c.ID)), After: c})
	})
	return c, classify(err)
}

// classify keeps errors already carrying a code and classifies the rest.
func classify(err error) error { return store.Classify(err) }

func pgCode(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

const indicatorCols = `i.id, i.category_id, c.name, coalesce(p.name, ''), i.name, i.kind, i.unit, i.conditions, i.visible,
	i.wrap, i.sort, i.updated_by, i.updated_at
	FROM dashboard.indicators i JOIN dashboard.categories c ON c.id = i.category_id
	LEFT JOIN dashboard.categories p ON p.id = c.parent_id`

func scanIndicator(r pgx.Row) (Indicator, error) {
	var it Indicator
	var conds []byte
	err := r.Scan(&it.ID, &it.CategoryID, &it.Category, &it.ParentName, &it.Name, &it.Kind, &it.Unit, &conds, &it.Visible,
		&it.Wrap, &it.Sort, &it.UpdatedBy, &it.UpdatedAt)
	if err == nil {
		err = json.Unmarshal(conds, &it.Conditions)
	}
	return it, err
}

// listIndicators lists the indicators of a category (its own and its
// children's when it is a top-level one), hidden ones only when asked.
func listIndicators(ctx context.Context, q store.Querier, category int64, withHidden bool) ([]Indicator, error) {
	var w store.Where
	if !withHidden {
		w.Add("i.visible")
	}
	if category != 0 {
		w.Add("(i.category_id = ? OR c.parent_id = ?)", category, category)
	}
	rows, err := q.Query(ctx, `SELECT `+indicatorCols+w.SQL()+` ORDER BY i.sort, i.id`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Indicator, error) { return scanIndicator(r) })
	return out, store.Classify(err)
}

func getIndicator(ctx context.Context, q store.Querier, id int64) (Indicator, error) {
	it, err := scanIndicator(q.QueryRow(ctx, `SELECT `+indicatorCols+` WHERE i.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return it, errs.New(errs.NotFound, "指标不存在")
	}
	return it, store.Classify(err)
}

func (f *Function) saveIndicator(ctx context.Context, id int64, in IndicatorInput, who auditlog.Actor) (Indicator, error) {
	by := who.Username
	conds, _ := json.Marshal(in.Conditions)
	var newID int64
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		// The log keeps what an update replaced, not only what it wrote.
		var before any
		if id != 0 {
			old, err := getIndicator(ctx, tx, id)
			if err != nil {
				return err
			}
			before = old
		}
		if id == 0 {
			err = tx.QueryRow(ctx, `INSERT INTO dashboard.indicators (category_id, name, kind, unit, conditions, visible, wrap, sort,
				updated_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
				in.CategoryID, in.Name, in.Kind, in.Unit, conds, *in.Visible, *in.Wrap, in.Sort, by, f.now()).Scan(&newID)
		} else {
			err = tx.QueryRow(ctx, `UPDATE dashboard.indicators SET category_id = $2, name = $3, kind = $4, unit = $5, conditions = $6,
				visible = $7, wrap = $8, sort = $9, updated_by = $10, updated_at = $11 WHERE id = $1 RETURNING id`,
				id, in.CategoryID, in.Name, in.Kind, in.Unit, conds, *in.Visible, *in.Wrap, in.Sort, by, f.now()).Scan(&newID)
			if errors.Is(err, pgx.ErrNoRows) {
				return errs.New(errs.NotFound, "指标不存在")
			}
		}
		switch {
		case pgCode(err) == "23505":
			return errs.New(errs.Conflict, "已有同名指标")
		case pgCode(err) == "23503":
			return errs.New(errs.Invalid, "指标分类不存在")
		case err != nil:
			return err
		}
		action := map[bool]string{true: "dashboard.indicator.create", false: "dashboard.indicator.update"}[id == 0]
		return auditlog.RecordBy(ctx, tx, Source, who, auditlog.Operation{At: f.now(), Action: action,
			ObjectType: "kpi_indicator", ObjectID: itoa(int(newID)), Before: before, After: in})
	})
	if err != nil {
		return Indicator{}, classify(err)
	}
	return getIndicator(ctx, f.pool, newID)
}

// count is an indicator's value in scope: from the rollups when they can
// answer, else over the registry's published read functions.
func count(ctx context.Context, q store.Querier, s auth.Scope, cs []Condition) (int64, bool, error) {
	if sql, args, ok := rolledCells(s, cs); ok {
		var n int64
		err := q.QueryRow(ctx, `SELECT coalesce(sum(x.n), 0)::bigint FROM (`+sql+`) x`, args...).Scan(&n)
		return n, true, store.Classify(err)
	}
	n, err := countRaw(ctx, q, s, cs)
	return n, false, err
}

// rolledCells is the rollup rows (district_code, n) whose sum is the count
// of cs in scope: dashboard.rollup's cells, dashboard.record_rollup's for
// "has a record of kind K", and for "lacks" the first less the second.
func rolledCells(s auth.Scope, cs []Condition) (string, []any, bool) {
	base, rec, ok := rollupPlan(cs)
	if !ok {
		return "", nil, false
	}
	var args []any
	part := func(table, kind, sign string) string {
		where := s.Filter("u.district_code", "u.township_code", &args) + ` AND ` + compile("u", base, &args)
		if table == "record_rollup" {
			args = append(args, kind)
			where += ` AND u.kind = $` + itoa(len(args))
		}
		return `SELECT u.district_code, ` + sign + `u.entities AS n FROM dashboard.` + table + ` u WHERE ` + where
	}
	switch {
	case rec == nil:
		return part("rollup", "", ""), args, true
	case rec.Op == "has":
		return part("record_rollup", strings.TrimSpace(rec.Value), ""), args, true
	default: // lacks: every entity less those with K, both of the record rollup's snapshot
		return part("record_rollup", "", "") + ` UNION ALL ` + part("record_rollup", strings.TrimSpace(rec.Value), "-"), args, true
	}
}

// countRaw is count without the rollup: the benchmark's baseline and the
// test that the rollup agrees with the source.
func countRaw(ctx context.Context, q store.Querier, s auth.Scope, cs []Condition) (int64, error) {
	var args []any
	var n int64
	scope := s.Filter("e.district_code", "e.township_code", &args)
	err := q.QueryRow(ctx, `SELECT count(*) FROM registry.dashboard_entities() e WHERE `+scope+
		` AND `+compile("e", cs, &args), args...).Scan(&n)
	return n, store.Classify(err)
}

// CountyCount is one county's count with its rank.
type CountyCount struct {
	Rank         int    `json:"rank"`
	DistrictCode string `json:"district_code"`
	DistrictName string `json:"district_name"`
	Count        int64  `json:"count"`
}

func countByCounty(ctx context.Context, q store.Querier, s auth.Scope, cs []Condition, useRollup bool) ([]CountyCount, error) {
	var args []any
	var sql string
	if cells, cargs, ok := rolledCells(s, cs); useRollup && ok {
		sql, args = `SELECT x.district_code, sum(x.n)::bigint FROM (`+cells+`) x GROUP BY 1 HAVING sum(x.n) > 0`, cargs
	} else {
		scope := s.Filter("e.district_code", "e.township_code", &args)
		sql = `SELECT e.district_code, count(*) FROM registry.dashboard_entities() e WHERE ` + scope + ` AND ` +
			compile("e", cs, &args) + ` GROUP BY 1`
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CountyCount, error) {
		var c CountyCount
		return c, r.Scan(&c.DistrictCode, &c.Count)
	})
	return out, store.Classify(err)
}

// RosterRow is one entity an advanced indicator selects.
type RosterRow struct {
	CreditCode        string  `json:"credit_code"`
	Name              string  `json:"name"`
	EntityType        string  `json:"entity_type"`
	DistrictCode      string  `json:"district_code"`
	DistrictName      string  `json:"district_name"`
	TownshipCode      string  `json:"township_code"`
	IndustryCode      string  `json:"industry_code"`
	Status            string  `json:"status"`
	EstablishedOn     string  `json:"established_on"`
	RegisteredCapital float64 `json:"registered_capital"`
}

func roster(ctx context.Context, q store.Querier, s auth.Scope, cs []Condition, limit, offset int) ([]RosterRow, int, error) {
	var args []any
	where := ` WHERE ` + s.Filter("e.district_code", "e.township_code", &args) + ` AND ` + compile("e", cs, &args)
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM registry.dashboard_entities() e`+where, args...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	args = append(args, limit, offset)
	rows, err := q.Query(ctx, `SELECT e.credit_code, e.name, e.entity_type, e.district_code, e.township_code, e.industry_code,
		e.status, e.established_on::text, e.registered_capital::float8 FROM registry.dashboard_entities() e`+where+
		` ORDER BY e.credit_code LIMIT $`+itoa(len(args)-1)+` OFFSET $`+itoa(len(args)), args...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RosterRow, error) {
		var x RosterRow
		return x, r.Scan(&x.CreditCode, &x.Name, &x.EntityType, &x.DistrictCode, &x.TownshipCode, &x.IndustryCode,
			&x.Status, &x.EstablishedOn, &x.RegisteredCapital)
	})
	return out, total, store.Classify(err)
}
