package identity

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Role carries menu permissions, operation permissions and a data scope.
type Role struct {
	ID           string    `json:"id"`
	Code         string    `json:"code"`
	Name         string    `json:"name"`
	Builtin      bool      `json:"builtin"`
	Menus        []string  `json:"menus"`
	Perms        []string  `json:"perms"`
	ScopeKind    string    `json:"scope_kind"`
	ScopeDeptIDs []string  `json:"scope_dept_ids"`
	UserCount    int       `json:"user_count"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// RoleInput creates or edits a role.
type RoleInput struct {
	Code         string   `json:"code"`
	Name         string   `json:"name"`
	Menus        []string `json:"menus"`
	Perms        []string `json:"perms"`
	ScopeKind    string   `json:"scope_kind"`
	ScopeDeptIDs []string `json:"scope_dept_ids"`
}

var scopeKinds = []string{auth.ScopeAll, auth.ScopeDeptAndBelow, auth.ScopeDept, auth.ScopeSelf, auth.ScopeCustom}

// Validate checks the role against the catalogues.
func (in *RoleInput) Validate() error {
	var fe []errs.FieldError
	in.Code = strings.TrimSpace(in.Code)
	in.Name = strings.TrimSpace(in.Name)
	if !validRoleCode(in.Code) {
		fe = append(fe, errs.FieldError{Field: "code", Message: "角色编码应以小写字母开头，由 2 至 40 位小写字母、数字或下划线组成"})
	}
	if n := len([]rune(in.Name)); n < 2 || n > 50 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "角色名称应为 2 至 50 个字符"})
	}
	in.Menus, in.Perms, in.ScopeDeptIDs = uniq(in.Menus), uniq(in.Perms), uniq(in.ScopeDeptIDs)
	for _, m := range in.Menus {
		if !menuSet[m] {
			fe = append(fe, errs.FieldError{Field: "menus", Message: "未知菜单：" + m})
		}
	}
	for _, p := range in.Perms {
		if !permSet[p] {
			fe = append(fe, errs.FieldError{Field: "perms", Message: "未知权限：" + p})
		}
	}
	if !slices.Contains(scopeKinds, in.ScopeKind) {
		fe = append(fe, errs.FieldError{Field: "scope_kind", Message: "数据范围应为 all、dept_and_below、dept、self 或 custom"})
	}
	if in.ScopeKind == auth.ScopeCustom && len(in.ScopeDeptIDs) == 0 {
		fe = append(fe, errs.FieldError{Field: "scope_dept_ids", Message: "自定义数据范围须至少选择一个部门"})
	}
	if in.ScopeKind != auth.ScopeCustom {
		in.ScopeDeptIDs = []string{}
	}
	return errs.Fields(fe)
}

func validRoleCode(s string) bool {
	if len(s) < 2 || len(s) > 40 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

const roleColumns = `r.id, r.code, r.name, r.builtin, r.menus, r.perms, r.scope_kind, r.scope_dept_ids, r.created_at, r.updated_at`

func scanRole(row pgx.Row) (Role, error) {
	var r Role
	err := row.Scan(&r.ID, &r.Code, &r.Name, &r.Builtin, &r.Menus, &r.Perms, &r.ScopeKind, &r.ScopeDeptIDs, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

func collectRoles(rows pgx.Rows, err error) ([]Role, error) {
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Role, error) { return scanRole(r) })
	return out, store.Classify(err)
}

func rolesOfUser(ctx context.Context, q store.Querier, userID string) ([]Role, error) {
	return collectRoles(q.Query(ctx, `SELECT `+roleColumns+` FROM identity.roles r JOIN identity.user_roles ur ON ur.role_id = r.id
		WHERE ur.user_id = $1 ORDER BY r.code`, userID))
}

// rolesByIDs loads the named roles, refusing unknown ids.
func rolesByIDs(ctx context.Context, q store.Querier, ids []string) ([]Role, error) {
	ids = uniq(ids)
	roles, err := collectRoles(q.Query(ctx, `SELECT `+roleColumns+` FROM identity.roles r WHERE r.id = ANY ($1) ORDER BY r.code`, ids))
	if err != nil {
		return nil, err
	}
	if len(roles) != len(ids) {
		return nil, errs.Fields([]errs.FieldError{{Field: "role_ids", Message: "包含不存在的角色"}})
	}
	return roles, nil
}

// Roles lists every role with how many users hold it.
func (f *Function) Roles(ctx context.Context) ([]Role, error) {
	rows, err := f.pool.Query(ctx, `SELECT `+roleColumns+`, (SELECT count(*) FROM identity.user_roles ur WHERE ur.role_id = r.id)
		FROM identity.roles r ORDER BY r.builtin DESC, r.code`)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Role, error) {
		var r Role
		err := row.Scan(&r.ID, &r.Code, &r.Name, &r.Builtin, &r.Menus, &r.Perms, &r.ScopeKind, &r.ScopeDeptIDs, &r.CreatedAt, &r.UpdatedAt, &r.UserCount)
		return r, err
	})
	return out, store.Classify(err)
}

// CreateRole defines a role; the caller can only put into it what they hold.
func (f *Function) CreateRole(ctx context.Context, a Actor, in RoleInput) (Role, error) {
	if err := in.Validate(); err != nil {
		return Role{}, err
	}
	var out Role
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if err := c.canGrant(in.Menus, in.Perms, in.ScopeKind, in.ScopeDeptIDs); err != nil {
			return err
		}
		out, err = scanRole(tx.QueryRow(ctx, `INSERT INTO identity.roles AS r (code, name, menus, perms, scope_kind, scope_dept_ids, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+roleColumns, in.Code, in.Name, in.Menus, in.Perms, in.ScopeKind, in.ScopeDeptIDs, f.now()))
		if errs.CodeOf(store.Classify(err)) == errs.Conflict {
			return &errs.Error{Code: errs.Conflict, Message: "角色编码已存在", Fields: []errs.FieldError{{Field: "code", Message: "角色编码已存在"}}}
		}
		if err != nil {
			return store.Classify(err)
		}
		return f.opLog(ctx, tx, a, "role.create", "role", out.ID, nil, out)
	})
	return out, err
}

// UpdateRole edits a role. The 三员 roles are fixed: changing them would
// undo the separation of duties. Holders' tokens are revoked so the change
// applies at their next refresh.
func (f *Function) UpdateRole(ctx context.Context, a Actor, id string, in RoleInput) (Role, error) {
	var out Role
	var holders []string
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := scanRole(tx.QueryRow(ctx, `SELECT `+roleColumns+` FROM identity.roles r WHERE r.id = $1 FOR UPDATE`, id))
		if err != nil {
			return store.Classify(err)
		}
		if slices.Contains(threeAdmins, old.Code) {
			return errs.New(errs.Forbidden, "三员角色（系统管理员、安全管理员、审计管理员）的权限固定，不能修改")
		}
		in.Code = old.Code
		if err := in.Validate(); err != nil {
			return err
		}
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if err := c.canGrant(in.Menus, in.Perms, in.ScopeKind, in.ScopeDeptIDs); err != nil {
			return err
		}
		// Removing a permission is also a grant decision over the holders.
		if err := c.canGrant(old.Menus, old.Perms, old.ScopeKind, old.ScopeDeptIDs); err != nil {
			return err
		}
		out, err = scanRole(tx.QueryRow(ctx, `UPDATE identity.roles r SET name = $2, menus = $3, perms = $4, scope_kind = $5, scope_dept_ids = $6, updated_at = $7
			WHERE r.id = $1 RETURNING `+roleColumns, id, in.Name, in.Menus, in.Perms, in.ScopeKind, in.ScopeDeptIDs, f.now()))
		if err != nil {
			return store.Classify(err)
		}
		rows, err := tx.Query(ctx, `SELECT user_id FROM identity.user_roles WHERE role_id = $1`, id)
		if err != nil {
			return err
		}
		if holders, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		for _, u := range holders {
			if err := f.recordRevocation(ctx, tx, "user", u, f.now()); err != nil {
				return err
			}
		}
		return f.opLog(ctx, tx, a, "role.update", "role", id, old, out)
	})
	if err == nil {
		for _, u := range holders {
			f.publishRevocation(ctx, "user", u, f.now())
		}
	}
	return out, err
}

// DeleteRole removes a custom role nobody holds.
func (f *Function) DeleteRole(ctx context.Context, a Actor, id string) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := scanRole(tx.QueryRow(ctx, `SELECT `+roleColumns+` FROM identity.roles r WHERE r.id = $1 FOR UPDATE`, id))
		if err != nil {
			return store.Classify(err)
		}
		if old.Builtin {
			return errs.New(errs.Forbidden, "内置角色不能删除")
		}
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if err := c.canGrant(old.Menus, old.Perms, old.ScopeKind, old.ScopeDeptIDs); err != nil {
			return err
		}
		var used bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.user_roles WHERE role_id = $1)`, id).Scan(&used); err != nil {
			return err
		}
		if used {
			return errs.New(errs.Conflict, "仍有用户持有该角色，请先取消分配")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM identity.roles WHERE id = $1`, id); err != nil {
			return store.Classify(err)
		}
		return f.opLog(ctx, tx, a, "role.delete", "role", id, old, nil)
	})
}

// ensureBuiltinRoles creates the built-in roles missing from the database;
// existing ones are left as administrators edited them, except the 三员
// roles, which are reset to their fixed definition.
func ensureBuiltinRoles(ctx context.Context, q store.Querier, now time.Time) error {
	for _, b := range builtinRoles() {
		fixed := slices.Contains(threeAdmins, b.Code)
		_, err := q.Exec(ctx, `INSERT INTO identity.roles (code, name, builtin, menus, perms, scope_kind, created_at, updated_at)
			VALUES ($1, $2, true, $3, $4, $5, $6, $6)
			ON CONFLICT (code) DO UPDATE SET menus = EXCLUDED.menus, perms = EXCLUDED.perms, scope_kind = EXCLUDED.scope_kind, builtin = true
			WHERE $7`, b.Code, b.Name, b.Menus, b.Perms, b.Scope, now, fixed)
		if err != nil {
			return err
		}
	}
	return nil
}
