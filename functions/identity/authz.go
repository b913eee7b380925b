package identity

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// casbinModel is plain RBAC: users get roles, roles get (resource, action).
// Several roles on one user mean the union of their permissions and menus,
// and the union of their data scopes (auth.Union): a role never takes away
// what another role grants.
const casbinModel = `
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`

// enforcerFor loads the user's roles into a casbin enforcer.
func enforcerFor(userID string, roles []Role) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	var pol, grp [][]string
	for _, r := range roles {
		for _, p := range r.Perms {
			res, act, _ := strings.Cut(p, ":")
			pol = append(pol, []string{"role:" + r.Code, res, act})
		}
		grp = append(grp, []string{"user:" + userID, "role:" + r.Code})
	}
	if len(pol) > 0 {
		if _, err := e.AddPolicies(pol); err != nil {
			return nil, err
		}
	}
	if len(grp) > 0 {
		if _, err := e.AddGroupingPolicies(grp); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// flattenPerms is the sorted set of "<resource>:<action>" the user holds
// through any role, as casbin computes it; tokens carry this list.
func flattenPerms(userID string, roles []Role) ([]string, error) {
	e, err := enforcerFor(userID, roles)
	if err != nil {
		return nil, err
	}
	rows, err := e.GetImplicitPermissionsForUser("user:" + userID)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, r := range rows {
		if len(r) >= 3 {
			set[r[1]+":"+r[2]] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// deptScope is one department's jurisdiction as an auth.Scope.
func deptScope(d Department) auth.Scope {
	return auth.Scope{Kind: auth.ScopeCustom, Districts: slices.Clone(d.DistrictCodes), Townships: slices.Clone(d.TownshipCodes)}
}

// resolveScope turns one role's scope kind into division codes for a user
// of department deptID.
func resolveScope(r Role, deptID string, depts deptIndex) auth.Scope {
	var parts []auth.Scope
	switch r.ScopeKind {
	case auth.ScopeAll:
		return auth.All()
	case auth.ScopeSelf:
		return auth.Scope{Kind: auth.ScopeSelf}
	case auth.ScopeDept:
		if d, ok := depts.byID[deptID]; ok {
			parts = append(parts, deptScope(d))
		}
	case auth.ScopeDeptAndBelow:
		for _, d := range depts.subtree(deptID) {
			parts = append(parts, deptScope(d))
		}
	case auth.ScopeCustom:
		for _, id := range r.ScopeDeptIDs {
			if d, ok := depts.byID[id]; ok {
				parts = append(parts, deptScope(d))
			}
		}
	}
	s := auth.Union(parts...)
	s.Kind = r.ScopeKind
	return s
}

// scopeOf is the union of the roles' resolved scopes.
func scopeOf(roles []Role, deptID string, depts deptIndex) auth.Scope {
	if len(roles) == 0 {
		return auth.Scope{Kind: auth.ScopeSelf}
	}
	parts := make([]auth.Scope, len(roles))
	for i, r := range roles {
		parts[i] = resolveScope(r, deptID, depts)
	}
	s := auth.Union(parts...)
	if s.Kind == auth.ScopeAll {
		return s
	}
	sort.Strings(s.Districts)
	sort.Strings(s.Townships)
	return s
}

// principalFor builds the token principal of a user from the database.
// A user who must change the password gets no permissions and no menus
// until they do: the token then only opens /me and /password/change.
func (f *Function) principalFor(ctx context.Context, q store.Querier, u User) (*auth.Principal, []string, error) {
	roles, err := rolesOfUser(ctx, q, u.ID)
	if err != nil {
		return nil, nil, err
	}
	depts, err := loadDepts(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	p := &auth.Principal{UserID: u.ID, Username: u.Username, Name: u.Name, DeptID: u.DeptID, Roles: []string{}, Perms: []string{}}
	for _, r := range roles {
		p.Roles = append(p.Roles, r.Code)
	}
	p.Scope = scopeOf(roles, u.DeptID, depts)
	var menus []string
	if u.mustChange(f.cfg, f.now()) {
		p.Scope = auth.Scope{Kind: auth.ScopeSelf}
		return p, []string{}, nil
	}
	if p.Perms, err = flattenPerms(u.ID, roles); err != nil {
		return nil, nil, err
	}
	for _, r := range roles {
		menus = append(menus, r.Menus...)
	}
	slices.Sort(menus)
	return p, slices.Compact(menus), nil
}

// scopeRank orders scope kinds by reach, for the "grant no more than you
// hold" rule on role definitions.
func scopeRank(kind string) int {
	switch kind {
	case auth.ScopeAll:
		return 4
	case auth.ScopeDeptAndBelow:
		return 3
	case auth.ScopeDept, auth.ScopeCustom:
		return 2
	}
	return 1
}

// capacity is what a caller holds and may therefore grant or manage,
// read fresh from the database (not the possibly older token).
type capacity struct {
	userID string
	perms  map[string]bool
	menus  map[string]bool
	rank   int
	all    bool            // data scope "all": every department
	depts  map[string]bool // departments whose users and sub-units the caller manages
	index  deptIndex
}

func (f *Function) capacityOf(ctx context.Context, q store.Querier, userID string) (capacity, error) {
	c := capacity{userID: userID, perms: map[string]bool{}, menus: map[string]bool{}, depts: map[string]bool{}}
	deptID, err := userDeptID(ctx, q, userID)
	if err != nil {
		return c, err
	}
	roles, err := rolesOfUser(ctx, q, userID)
	if err != nil {
		return c, err
	}
	if c.index, err = loadDepts(ctx, q); err != nil {
		return c, err
	}
	perms, err := flattenPerms(userID, roles)
	if err != nil {
		return c, err
	}
	for _, p := range perms {
		c.perms[p] = true
	}
	for _, r := range roles {
		for _, m := range r.Menus {
			c.menus[m] = true
		}
		c.rank = max(c.rank, scopeRank(r.ScopeKind))
		switch r.ScopeKind {
		case auth.ScopeAll:
			c.all = true
		case auth.ScopeDeptAndBelow:
			for _, d := range c.index.subtree(deptID) {
				c.depts[d.ID] = true
			}
		case auth.ScopeDept:
			if deptID != "" {
				c.depts[deptID] = true
			}
		case auth.ScopeCustom:
			for _, id := range r.ScopeDeptIDs {
				c.depts[id] = true
			}
		}
	}
	return c, nil
}

// manages reports whether the caller's data scope covers department id.
func (c capacity) manages(deptID string) bool { return c.all || (deptID != "" && c.depts[deptID]) }

// canGrant refuses a role definition or assignment reaching beyond what
// the caller holds: a permission, a menu, or a data scope.
func (c capacity) canGrant(menus, perms []string, scopeKind string, scopeDepts []string) error {
	for _, p := range perms {
		if !c.perms[p] {
			return errs.New(errs.Forbidden, fmt.Sprintf("不能授予自己不具备的权限：%s", permLabel(p)))
		}
	}
	for _, m := range menus {
		if !c.menus[m] {
			return errs.New(errs.Forbidden, fmt.Sprintf("不能授予自己不具备的菜单：%s", menuTitle(m)))
		}
	}
	if c.all {
		return nil
	}
	if scopeKind == auth.ScopeAll || scopeRank(scopeKind) > c.rank {
		return errs.New(errs.Forbidden, "不能授予超出自己数据范围的数据权限")
	}
	for _, id := range scopeDepts {
		if !c.depts[id] {
			return errs.New(errs.Forbidden, "自定义数据范围包含您无权管理的部门")
		}
	}
	return nil
}

// canAssign checks giving roles to a user of department deptID.
func (c capacity) canAssign(roles []Role, deptID string) error {
	if !c.manages(deptID) {
		return errs.New(errs.Forbidden, "该用户不在您的数据权限范围内")
	}
	if err := checkThreeAdmins(roles); err != nil {
		return err
	}
	for _, r := range roles {
		if err := c.canGrant(r.Menus, r.Perms, r.ScopeKind, r.ScopeDeptIDs); err != nil {
			return err
		}
	}
	return nil
}

// checkThreeAdmins enforces 三员分立: at most one of the system, security
// and audit administrator roles per account.
func checkThreeAdmins(roles []Role) error {
	var held []string
	for _, r := range roles {
		if slices.Contains(threeAdmins, r.Code) {
			held = append(held, r.Name)
		}
	}
	if len(held) > 1 {
		return &errs.Error{Code: errs.Conflict, Message: "三员分立：系统管理员、安全管理员、审计管理员不能由同一账号兼任（" + strings.Join(held, "、") + "）",
			Fields: []errs.FieldError{{Field: "role_ids", Message: "不能同时授予" + strings.Join(held, "和")}}}
	}
	return nil
}

func permLabel(key string) string {
	for _, p := range permCatalogue {
		if p.Key() == key {
			return p.Label + "（" + key + "）"
		}
	}
	return key
}

func menuTitle(code string) string {
	for _, top := range menuCatalogue {
		if top.Code == code {
			return top.Title
		}
		for _, c := range top.Children {
			if c.Code == code {
				return top.Title + "/" + c.Title
			}
		}
	}
	return code
}
