package identity

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// Roles (identity.roles) and who holds them (identity.user_roles).

const roleColumns = `r.id, r.code, r.name, r.builtin, r.menus, r.perms, r.scope_kind, r.scope_dept_ids, r.created_at, r.updated_at`

func scanRole(row pgx.Row, extra ...any) (Role, error) {
	var r Role
	err := row.Scan(append([]any{&r.ID, &r.Code, &r.Name, &r.Builtin, &r.Menus, &r.Perms, &r.ScopeKind, &r.ScopeDeptIDs,
		&r.CreatedAt, &r.UpdatedAt}, extra...)...)
	return r, store.Classify(err)
}

func collectRoles(rows pgx.Rows, err error) ([]Role, error) {
	return collect(rows, err, func(r pgx.Row) (Role, error) { return scanRole(r) })
}

func rolesOfUser(ctx context.Context, q store.Querier, userID string) ([]Role, error) {
	return collectRoles(q.Query(ctx, `SELECT `+roleColumns+` FROM identity.roles r JOIN identity.user_roles ur ON ur.role_id = r.id
		WHERE ur.user_id = $1 ORDER BY r.code`, userID))
}

// rolesWithIDs loads the roles of ids that exist.
func rolesWithIDs(ctx context.Context, q store.Querier, ids []string) ([]Role, error) {
	return collectRoles(q.Query(ctx, `SELECT `+roleColumns+` FROM identity.roles r WHERE r.id = ANY ($1) ORDER BY r.code`, ids))
}

// rolesWithCounts lists every role, built-in first, with its holders' count.
func rolesWithCounts(ctx context.Context, q store.Querier) ([]Role, error) {
	rows, err := q.Query(ctx, `SELECT `+roleColumns+`, (SELECT count(*) FROM identity.user_roles ur WHERE ur.role_id = r.id)
		FROM identity.roles r ORDER BY r.builtin DESC, r.code`)
	return collect(rows, err, func(row pgx.Row) (Role, error) {
		var n int
		r, err := scanRole(row, &n)
		r.UserCount = n
		return r, err
	})
}

func roleForUpdate(ctx context.Context, q store.Querier, id string) (Role, error) {
	return scanRole(q.QueryRow(ctx, `SELECT `+roleColumns+` FROM identity.roles r WHERE r.id = $1 FOR UPDATE`, id))
}

func insertRole(ctx context.Context, q store.Querier, in RoleInput, now time.Time) (Role, error) {
	return scanRole(q.QueryRow(ctx, `INSERT INTO identity.roles AS r (code, name, menus, perms, scope_kind, scope_dept_ids, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+roleColumns, in.Code, in.Name, in.Menus, in.Perms, in.ScopeKind, in.ScopeDeptIDs, now))
}

// updateRole changes everything of a role but its code.
func updateRole(ctx context.Context, q store.Querier, id string, in RoleInput, now time.Time) (Role, error) {
	return scanRole(q.QueryRow(ctx, `UPDATE identity.roles r SET name = $2, menus = $3, perms = $4, scope_kind = $5, scope_dept_ids = $6, updated_at = $7
		WHERE r.id = $1 RETURNING `+roleColumns, id, in.Name, in.Menus, in.Perms, in.ScopeKind, in.ScopeDeptIDs, now))
}

// roleHolders lists the ids of the users holding a role.
func roleHolders(ctx context.Context, q store.Querier, id string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT user_id FROM identity.user_roles WHERE role_id = $1`, id)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, store.Classify(err)
}

func roleHeld(ctx context.Context, q store.Querier, id string) (bool, error) {
	var used bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.user_roles WHERE role_id = $1)`, id).Scan(&used)
	return used, store.Classify(err)
}

func deleteRole(ctx context.Context, q store.Querier, id string) error {
	return exec(ctx, q, `DELETE FROM identity.roles WHERE id = $1`, id)
}

// upsertBuiltinRole creates a built-in role, or with reset puts an
// existing one back to its definition (the name stays as edited).
func upsertBuiltinRole(ctx context.Context, q store.Querier, b builtinRole, reset bool, now time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.roles (code, name, builtin, menus, perms, scope_kind, created_at, updated_at)
		VALUES ($1, $2, true, $3, $4, $5, $6, $6)
		ON CONFLICT (code) DO UPDATE SET menus = EXCLUDED.menus, perms = EXCLUDED.perms, scope_kind = EXCLUDED.scope_kind, builtin = true
		WHERE $7`, b.Code, b.Name, b.Menus, b.Perms, b.Scope, now, reset)
}

// insertRoleIfAbsent creates a custom role unless its code exists.
func insertRoleIfAbsent(ctx context.Context, q store.Querier, code, name string, menus, perms []string, scopeKind string, now time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.roles (code, name, menus, perms, scope_kind, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (code) DO NOTHING`, code, name, menus, perms, scopeKind, now)
}
