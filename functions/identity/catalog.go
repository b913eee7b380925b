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
	// FP-129: the warning board (notify), apart from the message centre.
	{Code: "warnings", Title: "预警信息", Path: "/console/#/warnings", Icon: "WarningFilled"},
	{Code: "market", Title: "市场主体", Icon: "Shop", Children: []Menu{
		{Code: "market.search", Title: "主体检索", Path: "/console/#/market/entities", Icon: "Search"},
		{Code: "market.profile", Title: "一户一档", Path: "/console/#/market/profile", Icon: "Folder"},
		// functions/connectors (FP-13–16, 19–21).
		{Code: "market.connectors", Title: "数据对接", Path: "/console/#/market/connectors", Icon: "Connection"},
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
		{Code: "qr.photo-coding", Title: "拍照赋码", Path: "/console/#/ocr/coding", Icon: "Camera"},
		{Code: "ocr.idcards", Title: "身份证识别", Path: "/console/#/ocr/idcards", Icon: "Postcard"},
	}},
	{Code: "docs", Title: "文书管理", Icon: "Document", Children: []Menu{
		{Code: "docs.documents", Title: "我的文书", Path: "/console/#/docs/documents", Icon: "Files"},
		{Code: "docs.review", Title: "文书审核", Path: "/console/#/docs/review", Icon: "Stamp"},
		{Code: "docs.templates", Title: "文书模板", Path: "/console/#/docs/templates", Icon: "EditPen"},
		{Code: "docs.backups", Title: "文书备份", Path: "/console/#/docs/backups", Icon: "Box"},
	}},
	{Code: "metrology", Title: "强检计量器具", Icon: "Odometer", Children: []Menu{
		{Code: "metrology.instruments", Title: "器具管理", Path: "/console/#/metrology/instruments", Icon: "Odometer"},
		{Code: "metrology.enterprises", Title: "使用单位", Path: "/console/#/metrology/enterprises", Icon: "OfficeBuilding"},
		{Code: "metrology.applications", Title: "检定申请", Path: "/console/#/metrology/applications", Icon: "DocumentChecked"},
		{Code: "metrology.returns", Title: "退回复核", Path: "/console/#/metrology/returns", Icon: "RefreshLeft"},
		{Code: "metrology.standards", Title: "计量标准", Path: "/console/#/metrology/standards", Icon: "Medal"},
		{Code: "metrology.institutions", Title: "检定机构", Path: "/console/#/metrology/institutions", Icon: "School"},
		{Code: "metrology.inspections", Title: "监督检查", Path: "/console/#/metrology/inspections", Icon: "Camera"},
		{Code: "metrology.alarms", Title: "超期告警", Path: "/console/#/metrology/alarms", Icon: "AlarmClock"},
		{Code: "metrology.stats", Title: "统计分析", Path: "/console/#/metrology/stats", Icon: "TrendCharts"},
		{Code: "metrology.certificates", Title: "检定证书", Path: "/console/#/metrology/certificates", Icon: "Tickets"},
		{Code: "metrology.province", Title: "省平台同步", Path: "/console/#/metrology/province", Icon: "Refresh"},
		{Code: "metrology.mobile", Title: "移动查询", Path: "/console/#/metrology/mobile", Icon: "Iphone"},
	}},
	// functions/datahub (FP-93, FP-95, FP-97, FP-98).
	{Code: "datahub", Title: "数据枢纽", Icon: "Coin", Children: []Menu{
		{Code: "datahub.catalogue", Title: "数据目录", Path: "/console/#/datahub/catalogue", Icon: "Collection"},
		{Code: "datahub.interfaces", Title: "我的数据接口", Path: "/console/#/datahub/interfaces", Icon: "Connection"},
		{Code: "datahub.access-log", Title: "接口访问日志", Path: "/console/#/datahub/access-log", Icon: "List"},
		{Code: "datahub.quality", Title: "数据质量", Path: "/console/#/datahub/quality", Icon: "CircleCheck"},
		{Code: "datahub.lineage", Title: "数据血缘", Path: "/console/#/datahub/lineage", Icon: "Share"},
		{Code: "datahub.search", Title: "智能搜索", Path: "/console/#/datahub/search", Icon: "Search"},
		// FP-115, FP-116, FP-117: third-party platforms.
		{Code: "datahub.platforms", Title: "三方平台管理", Path: "/console/#/datahub/platforms", Icon: "OfficeBuilding"},
		{Code: "datahub.platform-interfaces", Title: "数据交互配置", Path: "/console/#/datahub/platform-interfaces", Icon: "Switch"},
		{Code: "datahub.platform-logs", Title: "数据交互日志", Path: "/console/#/datahub/platform-logs", Icon: "Document"},
	}},
	// functions/laws (FP-65–75) and functions/activities (FP-76, 77).
	{Code: "laws", Title: "法律法规库", Icon: "Reading", Children: []Menu{
		{Code: "laws.library", Title: "法规检索与维护", Path: "/console/#/laws/library", Icon: "Collection"},
		{Code: "laws.imports", Title: "法规库导入", Path: "/console/#/laws/imports", Icon: "Upload"},
	}},
	{Code: "activities", Title: "活动库", Icon: "Calendar", Children: []Menu{
		{Code: "activities.list", Title: "活动管理", Path: "/console/#/activities", Icon: "Tickets"},
	}},
	// functions/evidence-capture (FP-90); 公开验证 needs no login, the menu entry is a shortcut.
	{Code: "evidence", Title: "电子取证", Icon: "Camera", Children: []Menu{
		{Code: "evidence.capture", Title: "一键取证", Path: "/console/#/evidence/capture", Icon: "Camera"},
		{Code: "evidence.upload", Title: "上传证据", Path: "/console/#/evidence/upload", Icon: "Upload"},
		{Code: "evidence.verify", Title: "公开验证", Path: "/console/#/evidence/verify", Icon: "CircleCheck"},
	}},
	// functions/dispatch and alarm-intake (FP-142–163).
	{Code: "command", Title: "指挥调度", Icon: "Position", Children: []Menu{
		{Code: "command.centre", Title: "指挥中心", Path: "/console/#/command/centre", Icon: "MapLocation"},
		{Code: "command.mobile", Title: "检查员手机端", Path: "/console/#/mobile/inspector", Icon: "Iphone"},
		// functions/comms (FP-151–153, 156, 160).
		{Code: "command.consult", Title: "协同会商", Path: "/console/#/comms/consult", Icon: "VideoCamera"},
		{Code: "command.notify", Title: "融合通信", Path: "/console/#/comms/notify", Icon: "Phone"},
		{Code: "command.cameras", Title: "监控设备", Path: "/console/#/comms/cameras", Icon: "VideoCamera"},
	}},
	// functions/crawler-shard and monitor (FP-85–91): 网络市场监测.
	{Code: "monitor", Title: "网络市场监测", Icon: "Monitor", Children: []Menu{
		{Code: "monitor.entities", Title: "网络主体库", Path: "/console/#/monitor/entities", Icon: "Shop"},
		{Code: "monitor.behaviour", Title: "经营行为数据", Path: "/console/#/monitor/behaviour", Icon: "Search"},
		{Code: "monitor.jobs", Title: "爬虫任务", Path: "/console/#/monitor/jobs", Icon: "Connection"},
		{Code: "monitor.models", Title: "监测模型", Path: "/console/#/monitor/models", Icon: "SetUp"},
		{Code: "monitor.clues", Title: "监测线索", Path: "/console/#/monitor/clues", Icon: "Warning"},
		{Code: "monitor.credit", Title: "信用等级", Path: "/console/#/monitor/credit", Icon: "Medal"},
		{Code: "monitor.streams", Title: "直播监测", Path: "/console/#/monitor/streams", Icon: "VideoCamera"},
	}},
	// functions/dashboard (FP-101–114, 121, 124, 130, 133, 138–140).
	{Code: "dashboard", Title: "数据看板", Icon: "DataBoard", Children: []Menu{
		{Code: "dashboard.kpi", Title: "指标看板", Path: "/console/#/dashboard/kpi", Icon: "DataAnalysis"},
		{Code: "dashboard.screen", Title: "数据大屏", Path: "/console/#/screen", Icon: "Monitor"},
		{Code: "dashboard.reports", Title: "专题报告", Path: "/console/#/dashboard/reports", Icon: "Document"},
		{Code: "dashboard.topics", Title: "专题看板", Path: "/console/#/dashboard/topics/licences", Icon: "PieChart"},
		{Code: "dashboard.geocode", Title: "地址质量", Path: "/console/#/dashboard/geocode", Icon: "Location"},
		{Code: "dashboard.anomalies", Title: "异常数据", Path: "/console/#/dashboard/anomalies", Icon: "WarningFilled"},
	}},
}

// metrologyMenus are the regulators' metrology pages (the enterprise and
// institution roles get a subset).
var metrologyMenus = []string{"metrology.instruments", "metrology.enterprises", "metrology.applications", "metrology.returns",
	"metrology.standards", "metrology.institutions", "metrology.inspections", "metrology.alarms", "metrology.stats",
	"metrology.certificates", "metrology.province"}

// Built-in role codes. The first three are the 三员 (separation of duties):
// no account may hold two of them.
const (
	RoleSysAdmin  = "sysadmin"
	RoleSecAdmin  = "secadmin"
	RoleAuditor   = "auditor"
	RoleInspector = "inspector"
	RoleReviewer  = "reviewer"
	// RoleEnterprise is an enterprise's own account (企业用户): it drafts
	// and submits its documents (documents) and sees the policies its
	// bound entity matches (policy-match). Reviewers review, publish and
	// correct documents.
	RoleEnterprise   = "enterprise"
	RoleDocsReviewer = "docs_reviewer"
	// The metrology parties (functions/metrology reads these codes): an
	// instrument user, a verification institution, and the county and city
	// bureaus' metrology supervisors.
	RoleMetrologyEnterprise  = "metrology_enterprise"
	RoleMetrologyInstitution = "metrology_institution"
	RoleMetrologySupervisor  = "metrology_supervisor"
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
// what they lack), but by 三员 they hold no audit-log permission. The
// platform's own services (identity, audit's logs, notify's notices) are
// not business.
func businessPerms() []string {
	var out []string
	for _, p := range permCatalogue {
		if !strings.HasPrefix(p.Resource, "identity.") && !strings.HasPrefix(p.Resource, "audit.") && !strings.HasPrefix(p.Resource, "notify.") {
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
		case "audit.log", "audit.alert", "identity.online":
			continue
		}
		out = append(out, p.Key())
	}
	return out
}

func builtinRoles() []builtinRole {
	business := []string{"market.search", "market.profile", "market.connectors", "qr.review", "qr.codes", "qr.oplog", "qr.stats"}
	business = append(business, "docs.documents", "docs.review", "docs.templates", "docs.backups")
	business = append(business, append(metrologyMenus, "metrology.mobile")...)
	business = append(business, "laws.library", "laws.imports", "activities.list")
	business = append(business, "policy.library", "policy.import", "policy.entity", "policy.accounts", "policy.mine")
	business = append(business, "command.centre", "command.mobile", "command.consult", "command.notify", "command.cameras")
	business = append(business, "qr.photo-coding", "ocr.idcards")
	business = append(business, "monitor.entities", "monitor.behaviour", "monitor.jobs", "monitor.models", "monitor.clues", "monitor.credit", "monitor.streams")
	business = append(business, "datahub.catalogue", "datahub.interfaces", "datahub.access-log", "datahub.quality", "datahub.lineage")
	business = append(business, "datahub.search")
	business = append(business, "datahub.platforms", "datahub.platform-interfaces", "datahub.platform-logs")
	business = append(business, "evidence.capture", "evidence.upload", "evidence.verify")
	business = append(business, "dashboard.kpi", "dashboard.screen", "dashboard.reports", "dashboard.topics", "dashboard.geocode", "dashboard.anomalies")
	return []builtinRole{
		{Code: RoleSysAdmin, Name: "系统管理员", Scope: "all",
			Menus: append([]string{"workbench", "system.users", "system.registrations", "system.departments", "system.roles", "system.changelog", "messages", "warnings"}, business...),
			Perms: sysadminPerms()},
		{Code: RoleSecAdmin, Name: "安全管理员", Scope: "all",
			Menus: append([]string{"workbench", "system.roles", "system.changelog", "security.online", "security.alerts", "messages", "warnings"}, business...),
			Perms: slices.Concat(perms("identity.role", "view", "create", "edit", "delete"), perms("identity.user", "view"), perms("identity.dept", "view"),
				perms("identity.online", "view", "edit"), perms("audit.alert", "view"), perms("notify.notice", "view"), perms("identity.changelog", "view"), businessPerms())},
		{Code: RoleAuditor, Name: "审计管理员", Scope: "all",
			Menus: []string{"workbench", "security.login-logs", "security.op-logs", "system.changelog", "messages"},
			Perms: slices.Concat(perms("audit.log", "view", "export"), perms("identity.user", "view"), perms("identity.dept", "view"),
				perms("notify.notice", "view"), perms("identity.changelog", "view"))},
		{Code: RoleInspector, Name: "执法检查人员", Scope: "dept_and_below",
			Menus: []string{"workbench", "messages", "warnings", "market.search", "market.profile", "system.changelog", "command.mobile",
				"evidence.capture", "evidence.upload", "evidence.verify"},
			Perms: slices.Concat(perms("registry.entity", "view"), perms("qr.code", "view"), perms("scan.inspection", "view", "create"),
				perms("notify.notice", "view"), perms("identity.changelog", "view"),
				// The phone page (FP-155–163): alarms, positions, hazard reports and
				// field reports on the jurisdiction's events, the task centre.
				perms("alarm.alarm", "create"), perms("dispatch.track", "create"), perms("dispatch.event", "view", "create"),
				perms("dispatch.task", "view", "handle"),
				// 移动端通讯录 (FP-157): the directory with favourites and groups.
				perms("identity.contact", "view"),
				// 电子取证 (FP-90): inspectors capture and seal evidence on site.
				perms("evidence.bundle", "view", "create"),
				// 移动端会议会商 (FP-156): inspectors join the consults they are invited to.
				perms("comms.consult", "view", "join"))},
		{Code: RoleReviewer, Name: "赋码审核员", Scope: "dept_and_below",
			Menus: []string{"workbench", "messages", "warnings", "market.search", "market.profile", "qr.review", "qr.codes", "qr.oplog", "qr.stats", "system.changelog"},
			Perms: slices.Concat(perms("registry.entity", "view"), perms("qr.code", "view", "approve", "invalidate", "download"),
				perms("qr.oplog", "view"), perms("qr.stats", "view"), perms("notify.notice", "view"), perms("identity.changelog", "view"))},
		{Code: RoleEnterprise, Name: "企业用户", Scope: "dept",
			Menus: []string{"workbench", "messages", "docs.documents", "policy.mine"},
			Perms: slices.Concat(perms("docs.document", "view", "create", "edit"), perms("docs.template", "view"),
				perms("policy.mine", "view"), perms("notify.notice", "view"))},
		{Code: RoleDocsReviewer, Name: "文书审核员", Scope: "dept_and_below",
			Menus: []string{"workbench", "messages", "market.search", "docs.documents", "docs.review", "docs.templates"},
			Perms: slices.Concat(perms("registry.entity", "view"), perms("docs.document", "view", "review", "publish"),
				perms("docs.template", "view", "create", "edit"), perms("notify.notice", "view"), perms("identity.changelog", "view"))},
		// Enterprises and institutions use the web portal; metrology confines
		// them to their own enterprise or institution, whatever the scope.
		{Code: RoleMetrologyEnterprise, Name: "计量器具使用单位", Scope: "all",
			Menus: []string{"messages", "metrology.instruments", "metrology.enterprises", "metrology.applications", "metrology.certificates", "metrology.mobile"},
			Perms: slices.Concat(perms("metrology.enterprise", "view", "create", "edit"), perms("metrology.instrument", "view", "create", "edit"),
				perms("metrology.institution", "view"), perms("metrology.application", "view", "create"), perms("metrology.verification", "view"),
				perms("certs.certificate", "view"), perms("notify.notice", "view"), perms("identity.changelog", "view"))},
		{Code: RoleMetrologyInstitution, Name: "检定机构", Scope: "all",
			Menus: []string{"messages", "metrology.applications", "metrology.standards", "metrology.institutions", "metrology.certificates"},
			Perms: slices.Concat(perms("metrology.enterprise", "view"), perms("metrology.instrument", "view"), perms("metrology.institution", "view", "edit"),
				perms("metrology.standard", "view", "edit"), perms("metrology.application", "view"), perms("metrology.verification", "view", "create"),
				perms("certs.certificate", "view"), perms("notify.notice", "view"), perms("identity.changelog", "view"))},
		{Code: RoleMetrologySupervisor, Name: "计量监管人员", Scope: "dept_and_below",
			Menus: append([]string{"workbench", "messages", "warnings", "market.search", "market.profile", "system.changelog"}, metrologyMenus...),
			Perms: slices.Concat(perms("registry.entity", "view"), perms("metrology.enterprise", "view", "create", "edit"),
				perms("metrology.instrument", "view", "edit"), perms("metrology.institution", "view"), perms("metrology.standard", "view"),
				perms("metrology.application", "view"), perms("metrology.verification", "view"), perms("metrology.review", "approve"),
				perms("metrology.inspection", "view", "create"), perms("metrology.alarm", "view", "edit"), perms("metrology.penalty", "view", "create"),
				perms("metrology.stats", "view"), perms("certs.certificate", "view"), perms("province.sync", "view"),
				perms("notify.notice", "view"), perms("identity.changelog", "view"))},
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
