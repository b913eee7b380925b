package identity

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// The departments tree (identity.departments).

const deptColumns = `id, parent_id, name, level, district_codes, township_codes, sort, path, created_at, updated_at`

func scanDept(r pgx.Row) (Department, error) {
	var d Department
	err := r.Scan(&d.ID, &d.ParentID, &d.Name, &d.Level, &d.DistrictCodes, &d.TownshipCodes, &d.Sort, &d.Path, &d.CreatedAt, &d.UpdatedAt)
	return d, store.Classify(err)
}

// loadDepts reads the whole tree, ordered by path.
func loadDepts(ctx context.Context, q store.Querier) (deptIndex, error) {
	rows, err := q.Query(ctx, `SELECT `+deptColumns+` FROM identity.departments ORDER BY path`)
	list, err := collect(rows, err, scanDept)
	if err != nil {
		return deptIndex{}, err
	}
	x := deptIndex{byID: map[string]Department{}, list: list}
	for _, d := range list {
		x.byID[d.ID] = d
	}
	return x, nil
}

// deptForUpdate reads and locks one department.
func deptForUpdate(ctx context.Context, q store.Querier, id string) (Department, error) {
	return scanDept(q.QueryRow(ctx, `SELECT `+deptColumns+` FROM identity.departments WHERE id = $1 FOR UPDATE`, id))
}

// rootDeptID finds a top-level department by name.
func rootDeptID(ctx context.Context, q store.Querier, name string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM identity.departments WHERE parent_id IS NULL AND name = $1`, name).Scan(&id)
	return id, store.Classify(err)
}

// insertDept stores d as given (its ID and Path already made) and
// returns the stored row; d.CreatedAt is also its updated_at.
func insertDept(ctx context.Context, q store.Querier, d Department) (Department, error) {
	return scanDept(q.QueryRow(ctx, `INSERT INTO identity.departments (id, parent_id, name, level, district_codes, township_codes, sort, path, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING `+deptColumns,
		d.ID, d.ParentID, d.Name, d.Level, d.DistrictCodes, d.TownshipCodes, d.Sort, d.Path, d.CreatedAt))
}

// updateDept changes what may change of a department: name,
// jurisdiction and order.
func updateDept(ctx context.Context, q store.Querier, id string, in DeptInput, now time.Time) (Department, error) {
	return scanDept(q.QueryRow(ctx, `UPDATE identity.departments SET name = $2, district_codes = $3, township_codes = $4, sort = $5, updated_at = $6
		WHERE id = $1 RETURNING `+deptColumns, id, in.Name, in.DistrictCodes, in.TownshipCodes, in.Sort, now))
}

// deptInUse reports whether anything refers to a department: a
// sub-unit, a user, a registration or a role's custom scope.
func deptInUse(ctx context.Context, q store.Querier, id string) (bool, error) {
	var busy bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.departments WHERE parent_id = $1)
		OR EXISTS (SELECT 1 FROM identity.users WHERE dept_id = $1)
		OR EXISTS (SELECT 1 FROM identity.registrations WHERE dept_id = $1)
		OR EXISTS (SELECT 1 FROM identity.roles WHERE $1 = ANY (scope_dept_ids))`, id).Scan(&busy)
	return busy, store.Classify(err)
}

func deleteDept(ctx context.Context, q store.Querier, id string) error {
	return exec(ctx, q, `DELETE FROM identity.departments WHERE id = $1`, id)
}

// deptNamesByID names the departments of ids that exist.
func deptNamesByID(ctx context.Context, q store.Querier, ids []string) (map[string]string, error) {
	type named struct{ id, name string }
	rows, err := q.Query(ctx, `SELECT id, name FROM identity.departments WHERE id = ANY ($1)`, ids)
	list, err := collect(rows, err, func(r pgx.Row) (named, error) {
		var n named
		return n, r.Scan(&n.id, &n.name)
	})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range list {
		out[n.id] = n.name
	}
	return out, nil
}
