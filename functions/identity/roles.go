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

// rolesByIDs loads the named roles, refusing unknown ids.
func rolesByIDs(ctx context.Context, q store.Querier, ids []string) ([]Role, error) {
	ids = uniq(ids)
	roles, err := rolesWithIDs(ctx, q, ids)
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
	return rolesWithCounts(ctx, f.pool)
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
		out, err = insertRole(ctx, tx, in, f.now())
		if errs.CodeOf(err) == errs.Conflict {
			return &errs.Error{Code: errs.Conflict, Message: "角色编码已存在", Fields: []errs.FieldError{{Field: "code", Message: "角色编码已存在"}}}
		}
		if err != nil {
			return err
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
		old, err := roleForUpdate(ctx, tx, id)
		if err != nil {
			return err
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
		out, err = updateRole(ctx, tx, id, in, f.now())
		if err != nil {
			return err
		}
		if holders, err = roleHolders(ctx, tx, id); err != nil {
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
		old, err := roleForUpdate(ctx, tx, id)
		if err != nil {
			return err
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
		used, err := roleHeld(ctx, tx, id)
		if err != nil {
			return err
		}
		if used {
			return errs.New(errs.Conflict, "仍有用户持有该角色，请先取消分配")
		}
		if err := deleteRole(ctx, tx, id); err != nil {
			return err
		}
		return f.opLog(ctx, tx, a, "role.delete", "role", id, old, nil)
	})
}

// ensureBuiltinRoles creates the built-in roles missing from the database;
// existing ones are left as administrators edited them, except the 三员
// roles, which are reset to their fixed definition.
func ensureBuiltinRoles(ctx context.Context, q store.Querier, now time.Time) error {
	for _, b := range builtinRoles() {
		if err := upsertBuiltinRole(ctx, q, b, slices.Contains(threeAdmins, b.Code), now); err != nil {
			return err
		}
	}
	return nil
}
