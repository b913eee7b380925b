package identity

import (
	"slices"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
)

// Perm is one operation permission (shared/auth's catalogue entry).
type Perm = auth.Permission

// Menu is one console menu entry; leaves carry a path under /console/#/.
type Menu struct {
	Code     string `json:"code"`
	Title    string `json:"title"`
	Path     string `json:"path,omitempty"`
	Icon     string `json:"icon,omitempty"`
	Children []Menu `json:"children,omitempty"`
}

// permCatalogue is every permission a role may hold: the platform-wide
// catalogue in shared/auth, where every function's routes find theirs.
var permCatalogue = auth.Catalogue()

// menuCatalogue is the console's menu tree. The console helper builds one
// page per leaf path.
var menuCatalogue = []Menu{
	{Code: "workbench", Title: "工作台", Path: "/console/#/workbench", Icon: "House"},
	{Code: "system", Title: "系统管理", Icon: "Setting", Children: []Menu{
		{Code: "system.users", Title: "用户管理", Path: "/console/#/system/users", Icon: "User"},
		{Code: "system.registrations", Title: "注册审核", Path: "/console/#/system/registrations", Icon: "Stamp"},
		{Code: "system.departments", Title: "部门管理", Path: "/console/#/system/departments", Icon: "OfficeBuilding"},
		{Code: "system.roles", Title: "角色权限", Path: "/console/#/system/roles", Icon: "Lock"},
		{Code: "system.changelog", Title: "版本日志", Path: "/console/#/system/changelog", Icon: "Document"},
	}},
	{Code: "security", Title: "安全审计", Icon: "Shield", Children: []Menu{
		{Code: "security.login-logs", Title: "登录日志", Path: "/console/#/security/login-logs", Icon: "Key"},
		{Code: "security.op-logs", Title: "操作日志", Path: "/console/#/security/op-logs", Icon: "Tickets"},
		{Code: "security.online", Title: "在线用户", Path: "/console/#/security/online", Icon: "Connection"},
		{Code: "security.alerts", Title: "安全告警", Path: "/console/#/security/alerts", Icon: "Warning"},
	}},
	{Code: "messages", Title: "消息中心", Path: "/console/#/messages", Icon: "Bell"},
	{Code: "market", Title: "市场主体", Icon: "Shop", Children: []Menu{
		{Code: "market.search", Title: "主体检索", Path: "/console/#/market/entities", Icon: "Search"},
		{Code: "market.profile", Title: "一户一档", Path: "/console/#/market/profile", Icon: "Folder"},
	}},
	{Code: "policy", Title: "惠企政策", Icon: "Present", Children: []Menu{
		{Code: "policy.library", Title: "政策库", Path: "/console/#/policy/library", Icon: "Collection"},
		{Code: "policy.import", Title: "政策导入", Path: "/console/#/policy/import", Icon: "Upload"},
		{Code: "policy.entity", Title: "企业找政策", Path: "/console/#/policy/entity", Icon: "Search"},
		{Code: "policy.accounts", Title: "企业账号绑定", Path: "/console/#/policy/accounts", Icon: "Link"},
		{Code: "policy.mine", Title: "我的惠企政策", Path: "/console/#/policy/mine", Icon: "Star"},
	}},
	{Code: "qr", Title: "一码三用", Icon: "Grid", Children: []Menu{
		{Code: "qr.review", Title: "赋码审核", Path: "/console/#/qr/review", Icon: "Checked"},
		{Code: "qr.codes", Title: "码管理", Path: "/console/#/qr/codes", Icon: "Postcard"},
		{Code: "qr.oplog", Title: "操作日志", Path: "/console/#/qr/oplog", Icon: "List"},
		{Code: "qr.stats", Title: "统计分析", Path: "/console/#/qr/stats", Icon: "DataAnalysis"},
	}},
}

// Built-in role codes. The first three are the 三员 (separation of duties):
// no account may hold two of them.
const (
	RoleSysAdmin  = "sysadmin"
	RoleSecAdmin  = "secadmin"
	RoleAuditor   = "auditor"
	RoleInspector = "inspector"
	RoleReviewer  = "reviewer"
	// RoleEnterprise is an enterprise's own account (企业用户): it sees the
	// policies its bound entity matches (policy-match), nothing else.
	RoleEnterprise = "enterprise"
)

var threeAdmins = []string{RoleSysAdmin, RoleSecAdmin, RoleAuditor}

// builtinRole is a role created by the first migration run of New.
type builtinRole struct {
	Code, Name string
	Menus      []string
	Perms      []string
	Scope      string
}

func perms(resource string, actions ...string) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = resource + ":" + a
	}
	return out
}

// businessPerms are the domain permissions: the system and security
// administrators hold them so they can put them into roles (nobody grants
// what they lack), but by 三员 they hold no audit-log permission.
func businessPerms() []string {
	var out []string
	for _, p := range permCatalogue {
		if !strings.HasPrefix(p.Resource, "identity.") {
			out = append(out, p.Key())
		}
	}
	return out
}

// sysadminPerms is every permission except the audit ones (logs, security
// alerts, online sessions), which belong to the auditor and the security
// administrator under 三员分立.
func sysadminPerms() []string {
	var out []string
	for _, p := range permCatalogue {
		switch p.Resource {
		case "identity.log", "identity.alert", "identity.online":
			continue
		}
		out = append(out, p.Key())
	}
	return out
}

func builtinRoles() []builtinRole {
	business := []string{"market.search", "market.profile", "qr.review", "qr.codes", "qr.oplog", "qr.stats",
		"policy.library", "policy.import", "policy.entity", "policy.accounts", "policy.mine"}
	return []builtinRole{
		{Code: RoleSysAdmin, Name: "系统管理员", Scope: "all",
			Menus: append([]string{"workbench", "system.users", "system.registrations", "system.departments", "system.roles", "system.changelog", "messages"}, business...),
			Perms: sysadminPerms()},
		{Code: RoleSecAdmin, Name: "安全管理员", Scope: "all",
			Menus: append([]string{"workbench", "system.roles", "system.changelog", "security.online", "security.alerts", "messages"}, business...),
			Perms: slices.Concat(perms("identity.role", "view", "create", "edit", "delete"), perms("identity.user", "view"), perms("identity.dept", "view"),
				perms("identity.online", "view", "edit"), perms("identity.alert", "view"), perms("identity.notice", "view"), perms("identity.changelog", "view"), businessPerms())},
		{Code: RoleAuditor, Name: "审计管理员", Scope: "all",
			Menus: []string{"workbench", "security.login-logs", "security.op-logs", "system.changelog", "messages"},
			Perms: slices.Concat(perms("identity.log", "view", "export"), perms("identity.user", "view"), perms("identity.dept", "view"),
				perms("identity.notice", "view"), perms("identity.changelog", "view"))},
		{Code: RoleInspector, Name: "执法检查人员", Scope: "dept_and_below",
			Menus: []string{"workbench", "messages", "market.search", "market.profile", "system.changelog"},
			Perms: slices.Concat(perms("registry.entity", "view"), perms("qr.code", "view"), perms("scan.inspection", "view", "create"),
				perms("identity.notice", "view"), perms("identity.changelog", "view"))},
		{Code: RoleReviewer, Name: "赋码审核员", Scope: "dept_and_below",
			Menus: []string{"workbench", "messages", "market.search", "market.profile", "qr.review", "qr.codes", "qr.oplog", "qr.stats", "system.changelog"},
			Perms: slices.Concat(perms("registry.entity", "view"), perms("qr.code", "view", "approve", "invalidate", "download"),
				perms("qr.oplog", "view"), perms("qr.stats", "view"), perms("identity.notice", "view"), perms("identity.changelog", "view"))},
		{Code: RoleEnterprise, Name: "企业用户", Scope: "self",
			Menus: []string{"messages", "policy.mine"},
			Perms: slices.Concat(perms("policy.mine", "view"), perms("identity.notice", "view"))},
	}
}

var (
	permSet = func() map[string]bool {
		m := map[string]bool{}
		for _, p := range permCatalogue {
			m[p.Key()] = true
		}
		return m
	}()
	menuSet = func() map[string]bool {
		m := map[string]bool{}
		for _, top := range menuCatalogue {
			m[top.Code] = true
			for _, c := range top.Children {
				m[c.Code] = true
			}
		}
		return m
	}()
)

// menusFor returns the catalogue pruned to the granted codes: a parent is
// shown when it or any child is granted, and a granted parent shows all
// its children.
func menusFor(granted []string) []Menu {
	g := map[string]bool{}
	for _, c := range granted {
		g[c] = true
	}
	out := []Menu{}
	for _, top := range menuCatalogue {
		if len(top.Children) == 0 {
			if g[top.Code] {
				out = append(out, top)
			}
			continue
		}
		m := top
		m.Children = nil
		for _, c := range top.Children {
			if g[top.Code] || g[c.Code] {
				m.Children = append(m.Children, c)
			}
		}
		if len(m.Children) > 0 {
			out = append(out, m)
		}
	}
	return out
}
