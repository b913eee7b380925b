package auth

// Permission is one operation permission: "<resource>:<action>", as access
// tokens carry it and routes require it.
type Permission struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Label    string `json:"label"`
}

// Key is the permission's "<resource>:<action>" form carried in tokens.
func (p Permission) Key() string { return p.Resource + ":" + p.Action }

// catalogue is every permission a role may hold, for every function. A
// route may require only a permission listed here (the conformance test
// checks each function's routes against it): a name missing here could
// never be granted, and its route would refuse everyone.
var catalogue = []Permission{
	{"identity.user", "view", "查看用户"},
	{"identity.user", "create", "新增用户"},
	{"identity.user", "edit", "编辑、冻结用户"},
	{"identity.user", "approve", "审核注册申请"},
	{"identity.dept", "view", "查看部门"},
	{"identity.dept", "create", "新增部门"},
	{"identity.dept", "edit", "编辑部门"},
	{"identity.dept", "delete", "删除部门"},
	{"identity.role", "view", "查看角色"},
	{"identity.role", "create", "新增角色"},
	{"identity.role", "edit", "编辑角色、分配权限"},
	{"identity.role", "delete", "删除角色"},
	{"identity.log", "view", "查看登录日志和操作日志"},
	{"identity.log", "export", "导出日志"},
	{"identity.online", "view", "查看在线用户"},
	{"identity.online", "edit", "强制下线"},
	{"identity.alert", "view", "查看安全告警"},
	{"identity.notice", "view", "查看消息"},
	{"identity.notice", "create", "发布消息"},
	{"identity.changelog", "view", "查看版本日志"},
	{"identity.changelog", "create", "发布版本日志"},
	// The OIDC provider's client administration (oidcprovider.ClientResource).
	{"identity.client", "view", "查看接入应用（OIDC 客户端）"},
	{"identity.client", "create", "登记接入应用"},
	{"identity.client", "edit", "停用、启用接入应用，更换应用密钥"},
	{"registry.entity", "view", "查看市场主体"},
	{"registry.entity", "create", "登记市场主体"},
	{"registry.entity", "edit", "修改市场主体"},
	{"registry.entity", "export", "导出市场主体"},
	{"registry.import", "create", "批量导入市场主体"},
	{"qr.code", "view", "查看赋码"},
	{"qr.code", "create", "申请赋码"},
	{"qr.code", "approve", "赋码审核"},
	{"qr.code", "invalidate", "作废、恢复码"},
	{"qr.code", "download", "下载码图"},
	{"qr.oplog", "view", "查看一码三用操作日志"},
	{"qr.oplog", "export", "导出一码三用操作日志"},
	{"qr.stats", "view", "查看一码三用统计"},
	{"qr.stats", "export", "导出一码三用统计"},
	{"scan.inspection", "view", "查看扫码检查记录"},
	{"scan.inspection", "create", "扫码检查"},
	{"scan.stats", "view", "查看扫码统计"},
	{"scan.stats", "export", "导出扫码统计"},
	{"policy.policy", "view", "查看政策库"},
	{"policy.policy", "create", "录入、导入政策"},
	{"policy.policy", "edit", "编辑政策、适用条件与分类标签"},
	{"policy.policy", "publish", "发布、撤回政策"},
	{"policy.match", "view", "查看政策匹配结果（政策找企业、企业找政策）"},
	{"policy.match", "export", "导出政策匹配主体清单"},
	{"policy.account", "view", "查看企业账号绑定"},
	{"policy.account", "edit", "绑定企业账号与市场主体"},
	{"policy.mine", "view", "查看本企业匹配的惠企政策（企业用户）"},
	// scaffold:permissions (go tool task new-function adds a new function's here)
}

// Catalogue is every grantable permission, in the role editor's order.
func Catalogue() []Permission {
	out := make([]Permission, len(catalogue))
	copy(out, catalogue)
	return out
}

// Grantable reports whether key ("resource:action") is in the catalogue.
func Grantable(key string) bool {
	for _, p := range catalogue {
		if p.Key() == key {
			return true
		}
	}
	return false
}
