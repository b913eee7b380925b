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
	{"identity.contact", "view", "查看通讯录（本人的收藏与群组）"},
	{"identity.role", "view", "查看角色"},
	{"identity.role", "create", "新增角色"},
	{"identity.role", "edit", "编辑角色、分配权限"},
	{"identity.role", "delete", "删除角色"},
	{"identity.online", "view", "查看在线用户"},
	{"identity.online", "edit", "强制下线"},
	{"identity.changelog", "view", "查看版本日志"},
	{"identity.changelog", "create", "发布版本日志"},
	// The OIDC provider's client administration (oidcprovider.ClientResource).
	{"identity.client", "view", "查看接入应用（OIDC 客户端）"},
	{"identity.client", "create", "登记接入应用"},
	{"identity.client", "edit", "停用、启用接入应用，更换应用密钥"},
	// The audit function's logs and alerts (三员分立: reading the logs also
	// needs the auditor role, the alerts the security administrator role).
	{"audit.log", "view", "查看登录日志和操作日志"},
	{"audit.log", "export", "导出日志"},
	{"audit.alert", "view", "查看安全告警"},
	// The message centre (notify): everyone signed in reads their own
	// messages; view is what the console shows the message centre for.
	{"notify.notice", "view", "查看消息"},
	{"notify.notice", "create", "发布消息"},
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
	{"ocr.idcard", "view", "查看身份证识别记录"},
	{"ocr.idcard", "create", "上传身份证识别"},
	{"ocr.photo", "view", "查看身份证照片和完整号码"},
	{"docs.template", "view", "查看文书模板"},
	{"docs.template", "create", "新增文书模板"},
	{"docs.template", "edit", "编辑、恢复文书模板"},
	{"docs.document", "view", "查看文书（限本人及被授权的文书）"},
	{"docs.document", "create", "起草文书"},
	{"docs.document", "edit", "修改、提交文书"},
	{"docs.document", "review", "审核文书"},
	{"docs.document", "publish", "发布、更正文书"},
	{"docs.backup", "view", "查看文书备份"},
	{"docs.backup", "create", "执行文书备份"},
	// metrology (强检计量器具, FP-165–180).
	{"metrology.enterprise", "view", "查看计量器具使用单位"},
	{"metrology.enterprise", "create", "登记计量器具使用单位"},
	{"metrology.enterprise", "edit", "修改计量器具使用单位"},
	{"metrology.instrument", "view", "查看强检计量器具"},
	{"metrology.instrument", "create", "登记强检计量器具"},
	{"metrology.instrument", "edit", "修改强检计量器具、变更状态、维护使用地点"},
	{"metrology.institution", "view", "查看检定机构"},
	{"metrology.institution", "create", "登记检定机构"},
	{"metrology.institution", "edit", "修改检定机构"},
	{"metrology.standard", "view", "查看计量标准"},
	{"metrology.standard", "edit", "维护计量标准及其证书"},
	{"metrology.application", "view", "查看检定申请"},
	{"metrology.application", "create", "申请检定"},
	{"metrology.verification", "view", "查看检定记录"},
	{"metrology.verification", "create", "受理、退回检定申请，录入检定结果"},
	{"metrology.review", "approve", "批准超期器具检定申请、复核退回"},
	{"metrology.inspection", "view", "查看计量监督检查计划和现场记录"},
	{"metrology.inspection", "create", "制定检查计划、填写现场检查记录"},
	{"metrology.alarm", "view", "查看超期告警及统计"},
	{"metrology.alarm", "edit", "查阅超期告警（标记已读）"},
	{"metrology.penalty", "view", "查看超期处罚记录"},
	{"metrology.penalty", "create", "登记超期处罚记录"},
	{"metrology.stats", "view", "查看强检器具统计分析"},
	// certificate-print (检定证书, FP-167, 173, 175).
	{"certs.certificate", "view", "查看、下载检定证书"},
	// provincial-sync (省平台同步, FP-165, 166).
	{"province.sync", "view", "查看省平台同步记录和省平台数据"},
	{"province.sync", "run", "立即执行省平台同步"},
	// laws (法律法规库, FP-65–75): the library itself is public; these
	// guard its upkeep.
	{"laws.document", "view", "查看法律法规（后台）"},
	{"laws.document", "create", "新增法律法规"},
	{"laws.document", "edit", "编辑法律法规、关联版本"},
	{"laws.import", "create", "导入法律法规库"},
	// activities (活动库, FP-76, 77).
	{"activities.activity", "view", "查看活动"},
	{"activities.activity", "create", "新增、导入活动"},
	{"activities.activity", "edit", "编辑、发布活动，填写活动总结"},
	{"activities.signup", "view", "查看活动报名"},
	{"activities.signup", "edit", "管理活动报名（签到、取消）"},
	{"policy.policy", "view", "查看政策库"},
	{"policy.policy", "create", "录入、导入政策"},
	{"policy.policy", "edit", "编辑政策、适用条件与分类标签"},
	{"policy.policy", "publish", "发布、撤回政策"},
	{"policy.match", "view", "查看政策匹配结果（政策找企业、企业找政策）"},
	{"policy.match", "export", "导出政策匹配主体清单"},
	{"policy.account", "view", "查看企业账号绑定"},
	{"policy.account", "edit", "绑定企业账号与市场主体"},
	{"policy.mine", "view", "查看本企业匹配的惠企政策（企业用户）"},
	{"alarm.alarm", "view", "查看一键报警"},
	{"alarm.alarm", "create", "发起一键报警（检查人员手机）"},
	{"dispatch.event", "view", "查看指挥中心报警、事件与实时推送"},
	{"dispatch.event", "create", "登记事件（来电、上报）"},
	{"dispatch.event", "edit", "处置报警与事件（受理、归并、关闭）"},
	{"dispatch.track", "create", "上报手机定位（检查人员手机）"},
	{"dispatch.track", "view", "查看实时位置、圈选与轨迹回放"},
	{"dispatch.task", "view", "查看调度任务"},
	{"dispatch.task", "create", "派发调度任务"},
	{"dispatch.task", "handle", "办理调度任务"},
	{"dispatch.task", "approve", "审批调度任务（领导）"},
	// The data hub (datahub): the catalogue, generated interfaces and their
	// access log; datahub.personal lets one's interfaces show personal
	// information unmasked.
	{"datahub.catalogue", "view", "查看数据目录"},
	{"datahub.interface", "view", "查看我的数据接口"},
	{"datahub.interface", "create", "生成数据接口"},
	{"datahub.interface", "edit", "更换、吊销数据接口密钥"},
	{"datahub.accesslog", "view", "查看数据接口访问日志"},
	{"datahub.accesslog", "export", "导出数据接口访问日志"},
	{"datahub.personal", "view", "数据接口中查看未脱敏的个人信息"},
	// Data quality (FP-98) and lineage (FP-97).
	{"datahub.quality", "view", "查看数据质量规则、评分和本部门的质量问题"},
	{"datahub.quality", "manage", "配置数据质量规则、运行检查、查看各部门的质量问题"},
	{"datahub.quality", "handle", "整改或说明本部门的数据质量问题"},
	{"datahub.lineage", "view", "查看数据血缘"},
	{"datahub.lineage", "edit", "登记数据血缘中的外部来源和流向"},
	{"datahub.phase1", "view", "调用 I 期数据接口（法人、许可证照、食品、医疗器械；v1 与 v2）"},
	{"datahub.search", "view", "智能搜索（按公式条件查询、分组统计数据集）"},
	{"datahub.search", "create", "保存、共享智能搜索公式"},
	{"datahub.search", "export", "导出智能搜索结果"},
	// Third-party platforms, their interface configurations and the
	// interaction log (FP-115–117); the BJ-TJ-HE exchange partners (FP-126).
	{"datahub.platform", "view", "查看三方平台与数据交互配置"},
	{"datahub.platform", "edit", "管理三方平台与数据交互配置（测试连接、执行）"},
	{"datahub.platformlog", "view", "查看数据交互日志"},
	{"datahub.platformlog", "export", "导出数据交互日志"},
	{"datahub.exchange", "view", "查看京津冀数据交换合作方与交换日志"},
	{"datahub.exchange", "edit", "管理京津冀数据交换合作方、拉取对方数据"},
	{"evidence.bundle", "view", "查看电子证据包"},
	{"evidence.bundle", "create", "新增电子证据（上传、取证、封存）"},
	{"crawl.job", "view", "查看网络爬虫任务与抓取结果"},
	{"crawl.job", "create", "新建网络爬虫任务"},
	{"monitor.model", "view", "查看网络市场监测模型与规则"},
	{"monitor.model", "create", "新建并运行网络市场监测模型"},
	{"monitor.clue", "view", "查看网络市场监测线索"},
	{"monitor.clue", "review", "研判、排除或移送监测线索"},
	{"monitor.clue", "export", "导出网络市场监测线索"},
	{"monitor.credit", "view", "查看网络经营主体信用等级"},
	{"monitor.credit", "edit", "录入信用记录、调整信用评价模型"},
	{"monitor.stream", "view", "查看直播与短视频监测名单"},
	{"monitor.stream", "edit", "维护直播与短视频监测名单并执行检查"},
	{"monitor.behaviour", "view", "检索网络经营行为数据、保存定时检索"},
	{"monitor.behaviour", "export", "导出网络经营行为数据"},
	{"entity.graph", "view", "查看企业图谱与股权穿透"},
	{"dashboard.kpi", "view", "查看指标看板"},
	{"dashboard.kpi", "manage", "维护指标与指标分类"},
	{"dashboard.kpi", "export", "导出指标名单与区县排名"},
	{"dashboard.geo", "view", "查看地址规范化结果与地理编码异常"},
	{"dashboard.geo", "edit", "地理编码，确认或纠正异常点位"},
	{"dashboard.anomaly", "view", "查看异常数据概况、趋势、分布、分析与追溯"},
	{"dashboard.anomaly", "handle", "排查处理异常数据：修正、归类、记录处理意见"},
	{"dashboard.anomaly", "manage", "设置异常预警阈值，重新检测异常"},
	{"dashboard.anomaly", "export", "导出异常数据概况与清单"},
	{"comms.consult", "view", "查看协同会商及其聊天记录"},
	{"comms.consult", "create", "为事件发起协同会商"},
	{"comms.consult", "join", "加入受邀的会商并发送聊天"},
	{"comms.consult", "host", "主持会商：邀请、踢出、静音成员，录音及删除录音"},
	{"comms.notice", "view", "查看一键呼叫、短信、传真的发送记录"},
	{"comms.notice", "send", "向事件节点一键呼叫、发短信、发传真"},
	{"comms.camera", "view", "查看监控设备目录与实时画面"},
	{"comms.camera", "manage", "维护监控设备目录"},
	{"comms.camera", "capture", "从监控设备抓拍、录制片段"},
	{"connectors.connector", "view", "查看数据对接的状态、游标和交互日志"},
	{"connectors.connector", "run", "立即执行数据对接同步"},
	{"connectors.database", "view", "查看外部数据库配置和连接状态"},
	{"connectors.database", "edit", "配置外部数据库、检测连接"},
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
