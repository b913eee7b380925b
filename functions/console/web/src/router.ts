import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import { useAuth } from './stores/auth'

// Each page names the menu codes (identity's menu catalogue) that open it:
// the guard refuses a page whose menu the user was not granted, so typing
// an address does not get around the menu. The APIs check again.
const pages: RouteRecordRaw[] = [
  { path: 'workbench', component: () => import('./views/Workbench.vue'), meta: { title: '工作台', menus: ['workbench'] } },
  { path: 'system/users', component: () => import('./views/Users.vue'), meta: { title: '用户管理', menus: ['system.users'] } },
  { path: 'system/registrations', component: () => import('./views/Registrations.vue'), meta: { title: '注册审核', menus: ['system.registrations'] } },
  { path: 'system/departments', component: () => import('./views/Departments.vue'), meta: { title: '部门管理', menus: ['system.departments'] } },
  { path: 'system/roles', component: () => import('./views/Roles.vue'), meta: { title: '角色权限', menus: ['system.roles'] } },
  { path: 'system/changelog', component: () => import('./views/Changelog.vue'), meta: { title: '版本日志', menus: ['system.changelog'] } },
  { path: 'security/login-logs', component: () => import('./views/LoginLogs.vue'), meta: { title: '登录日志', menus: ['security.login-logs'] } },
  { path: 'security/op-logs', component: () => import('./views/OpLogs.vue'), meta: { title: '操作日志', menus: ['security.op-logs'] } },
  { path: 'security/online', component: () => import('./views/Online.vue'), meta: { title: '在线用户', menus: ['security.online'] } },
  { path: 'security/alerts', component: () => import('./views/Alerts.vue'), meta: { title: '安全告警', menus: ['security.alerts'] } },
  { path: 'messages', component: () => import('./views/Messages.vue'), meta: { title: '消息中心', menus: ['messages'] } },
  // FP-129: the warning board.
  { path: 'warnings', component: () => import('./views/Warnings.vue'), meta: { title: '预警信息', menus: ['warnings'] } },
  { path: 'market/entities', component: () => import('./views/Entities.vue'), meta: { title: '主体检索', menus: ['market.search'] } },
  { path: 'market/connectors', component: () => import('./views/Connectors.vue'), meta: { title: '数据对接', menus: ['market.connectors'] } }, // FP-13, FP-14, FP-15, FP-16, FP-19, FP-20, FP-21
  { path: 'market/profile/:code?', component: () => import('./views/Profile.vue'), meta: { title: '一户一档', menus: ['market.profile', 'market.search'] } },
  { path: 'qr/review', component: () => import('./views/QrReview.vue'), meta: { title: '赋码审核', menus: ['qr.review'] } },
  { path: 'qr/codes', component: () => import('./views/QrCodes.vue'), meta: { title: '码管理', menus: ['qr.codes'] } },
  { path: 'qr/oplog', component: () => import('./views/QrOpLog.vue'), meta: { title: '操作日志', menus: ['qr.oplog'] } },
  { path: 'qr/stats', component: () => import('./views/QrStats.vue'), meta: { title: '统计分析', menus: ['qr.stats'] } },
  // FP-36–45: documents (文书管理).
  { path: 'docs/documents', component: () => import('./views/DocsDocuments.vue'), meta: { title: '我的文书', menus: ['docs.documents'] } },
  { path: 'docs/documents/:id', component: () => import('./views/DocEdit.vue'), meta: { title: '文书', menus: ['docs.documents', 'docs.review'] } },
  { path: 'docs/review', component: () => import('./views/DocsReview.vue'), meta: { title: '文书审核', menus: ['docs.review'] } },
  { path: 'docs/templates', component: () => import('./views/DocsTemplates.vue'), meta: { title: '文书模板', menus: ['docs.templates'] } },
  { path: 'docs/templates/:code', component: () => import('./views/DocTemplate.vue'), meta: { title: '文书模板', menus: ['docs.templates'] } },
  { path: 'docs/backups', component: () => import('./views/DocsBackups.vue'), meta: { title: '文书备份', menus: ['docs.backups'] } },
  // 强检计量器具 (FP-165–180).
  { path: 'metrology/instruments', component: () => import('./views/metrology/Instruments.vue'), meta: { title: '器具管理', menus: ['metrology.instruments'] } },
  { path: 'metrology/enterprises', component: () => import('./views/metrology/Enterprises.vue'), meta: { title: '使用单位', menus: ['metrology.enterprises'] } },
  { path: 'metrology/applications', component: () => import('./views/metrology/Applications.vue'), meta: { title: '检定申请', menus: ['metrology.applications'] } },
  { path: 'metrology/returns', component: () => import('./views/metrology/Returns.vue'), meta: { title: '退回复核', menus: ['metrology.returns'] } },
  { path: 'metrology/standards', component: () => import('./views/metrology/Standards.vue'), meta: { title: '计量标准', menus: ['metrology.standards'] } },
  { path: 'metrology/institutions', component: () => import('./views/metrology/Institutions.vue'), meta: { title: '检定机构', menus: ['metrology.institutions'] } },
  { path: 'metrology/inspections', component: () => import('./views/metrology/Inspections.vue'), meta: { title: '监督检查', menus: ['metrology.inspections'] } },
  { path: 'metrology/alarms', component: () => import('./views/metrology/Alarms.vue'), meta: { title: '超期告警', menus: ['metrology.alarms'] } },
  { path: 'metrology/stats', component: () => import('./views/metrology/Stats.vue'), meta: { title: '统计分析', menus: ['metrology.stats'] } },
  { path: 'metrology/certificates', component: () => import('./views/metrology/Certificates.vue'), meta: { title: '检定证书', menus: ['metrology.certificates'] } },
  { path: 'metrology/province', component: () => import('./views/metrology/Province.vue'), meta: { title: '省平台同步', menus: ['metrology.province'] } },
  { path: 'metrology/mobile', component: () => import('./views/metrology/Mobile.vue'), meta: { title: '移动查询', menus: ['metrology.mobile'] } },
  // FP-65–75, FP-76: the law library and the activity library.
  // 数据枢纽 (FP-93, FP-95): catalogue, generated interfaces, their access log.
  { path: 'datahub/catalogue', component: () => import('./views/datahub/Catalogue.vue'), meta: { title: '数据目录', menus: ['datahub.catalogue'] } },
  { path: 'datahub/interfaces', component: () => import('./views/datahub/Interfaces.vue'), meta: { title: '我的数据接口', menus: ['datahub.interfaces'] } },
  { path: 'datahub/access-log', component: () => import('./views/datahub/AccessLog.vue'), meta: { title: '接口访问日志', menus: ['datahub.access-log'] } },
  // FP-98: data quality (rules, scores and trend, issues with the repair workflow); FP-97: lineage.
  { path: 'datahub/quality', component: () => import('./views/datahub/Quality.vue'), meta: { title: '数据质量', menus: ['datahub.quality'] } },
  { path: 'datahub/lineage', component: () => import('./views/datahub/Lineage.vue'), meta: { title: '数据血缘', menus: ['datahub.lineage'] } },
  // FP-137: smart search's builder
  { path: 'datahub/search', component: () => import('./views/datahub/Search.vue'), meta: { title: '智能搜索', menus: ['datahub.search'] } },
  // 数据枢纽 (FP-115, FP-116, FP-117): third-party platforms, their interface configurations, the interaction log.
  { path: 'datahub/platforms', component: () => import('./views/datahub/Platforms.vue'), meta: { title: '三方平台管理', menus: ['datahub.platforms'] } },
  { path: 'datahub/platform-interfaces', component: () => import('./views/datahub/PlatformInterfaces.vue'), meta: { title: '数据交互配置', menus: ['datahub.platform-interfaces'] } },
  { path: 'datahub/platform-logs', component: () => import('./views/datahub/PlatformLogs.vue'), meta: { title: '数据交互日志', menus: ['datahub.platform-logs'] } },
  { path: 'laws/library', component: () => import('./views/LawLibrary.vue'), meta: { title: '法规检索与维护', menus: ['laws.library'] } },
  { path: 'laws/imports', component: () => import('./views/LawImports.vue'), meta: { title: '法规库导入', menus: ['laws.imports'] } },
  { path: 'activities', component: () => import('./views/Activities.vue'), meta: { title: '活动管理', menus: ['activities.list'] } },
  // FP-11, FP-12: 身份证识别与身份核验; FP-51–53: 拍照赋码 (ocr-idcard).
  { path: 'ocr/idcards', component: () => import('./views/ocr/IdCards.vue'), meta: { title: '身份证识别', menus: ['ocr.idcards'] } },
  { path: 'ocr/coding', component: () => import('./views/ocr/Coding.vue'), meta: { title: '拍照赋码', menus: ['qr.photo-coding'] } },
  // FP-54–64: 惠企政策 (policy-match).
  { path: 'policy/library', component: () => import('./views/policy/PolicyLibrary.vue'), meta: { title: '政策库', menus: ['policy.library'] } },
  { path: 'policy/detail/:id', component: () => import('./views/policy/PolicyDetail.vue'), meta: { title: '政策详情', menus: ['policy.library'] } },
  { path: 'policy/import', component: () => import('./views/policy/PolicyImport.vue'), meta: { title: '政策导入', menus: ['policy.import'] } },
  { path: 'policy/entity', component: () => import('./views/policy/PolicyEntity.vue'), meta: { title: '企业找政策', menus: ['policy.entity'] } },
  { path: 'policy/accounts', component: () => import('./views/policy/PolicyAccounts.vue'), meta: { title: '企业账号绑定', menus: ['policy.accounts'] } },
  { path: 'policy/mine', component: () => import('./views/policy/PolicyMine.vue'), meta: { title: '我的惠企政策', menus: ['policy.mine'] } },
  // FP-142–150, FP-154: the command centre; FP-155–163: the inspector's phone page.
  { path: 'command/centre', component: () => import('./views/command/Centre.vue'), meta: { title: '指挥中心', menus: ['command.centre'] } },
  { path: 'mobile/inspector', component: () => import('./views/mobile/Inspector.vue'), meta: { title: '检查员手机端', menus: ['command.mobile'] } },
  // FP-151–153, FP-156, FP-160: consults, fused communications, the phone in a consult.
  { path: 'comms/consult', component: () => import('./views/comms/Consult.vue'), meta: { title: '协同会商', menus: ['command.consult'] } },
  { path: 'comms/notify', component: () => import('./views/comms/Notify.vue'), meta: { title: '融合通信', menus: ['command.notify'] } },
  // FP-158: camera streams.
  { path: 'comms/cameras', component: () => import('./views/comms/Cameras.vue'), meta: { title: '监控设备', menus: ['command.cameras'] } },
  { path: 'comms/phone', component: () => import('./views/comms/Phone.vue'), meta: { title: '会商（手机端）', menus: ['command.mobile', 'command.consult'] } },
  // FP-85–91: 网络市场监测 (crawler-shard, monitor).
  { path: 'monitor/entities', component: () => import('./views/monitor/Entities.vue'), meta: { title: '网络主体库', menus: ['monitor.entities'] } },
  // FP-86: 经营行为数据 (monitor over crawler-shard's objects).
  { path: 'monitor/behaviour', component: () => import('./views/monitor/Behaviour.vue'), meta: { title: '经营行为数据', menus: ['monitor.behaviour'] } },
  { path: 'monitor/jobs', component: () => import('./views/monitor/Jobs.vue'), meta: { title: '爬虫任务', menus: ['monitor.jobs'] } },
  { path: 'monitor/models', component: () => import('./views/monitor/Models.vue'), meta: { title: '监测模型', menus: ['monitor.models'] } },
  { path: 'monitor/clues', component: () => import('./views/monitor/Clues.vue'), meta: { title: '监测线索', menus: ['monitor.clues', 'monitor.models'] } },
  // FP-87: 信用等级.
  { path: 'monitor/credit', component: () => import('./views/monitor/Credit.vue'), meta: { title: '信用等级', menus: ['monitor.credit'] } },
  // FP-89: 直播监测.
  { path: 'monitor/streams', component: () => import('./views/monitor/Streams.vue'), meta: { title: '直播监测', menus: ['monitor.streams'] } },
  // FP-90: 电子取证 (evidence-capture).
  { path: 'evidence/capture', component: () => import('./views/evidence/Capture.vue'), meta: { title: '一键取证', menus: ['evidence.capture'] } },
  { path: 'evidence/upload', component: () => import('./views/evidence/Upload.vue'), meta: { title: '上传证据', menus: ['evidence.upload'] } },
  // FP-110–114, FP-130: 指标看板 (dashboard).
  { path: 'dashboard/kpi', component: () => import('./views/dashboard/Kpi.vue'), meta: { title: '指标看板', menus: ['dashboard.kpi'] } },
  // FP-121, FP-138: 专题报告与订阅 (dashboard).
  { path: 'dashboard/reports', component: () => import('./views/dashboard/Reports.vue'), meta: { title: '专题报告', menus: ['dashboard.reports'] } },
  // FP-118, FP-119, FP-120, FP-141: 专题看板 on a PC or a phone (dashboard).
  { path: 'dashboard/topics/:board?', component: () => import('./views/dashboard/topics/Topics.vue'), meta: { title: '专题看板', menus: ['dashboard.topics'] } },
  // FP-124, FP-139, FP-140: 地址质量 (dashboard).
  { path: 'dashboard/geocode', component: () => import('./views/dashboard/Geocode.vue'), meta: { title: '地址质量', menus: ['dashboard.geocode'] } },
  // FP-102–109, FP-133: 异常数据 (dashboard).
  { path: 'dashboard/anomalies', component: () => import('./views/dashboard/Anomalies.vue'), meta: { title: '异常数据', menus: ['dashboard.anomalies'] } },
  { path: 'forbidden', component: () => import('./views/Forbidden.vue'), meta: { title: '无权访问', menus: [] } },
]

const routes: RouteRecordRaw[] = [
  { path: '/login', component: () => import('./views/Login.vue'), meta: { public: true, title: '登录' } },
  // FP-90: anyone holding a file may check it against the public log, without an account.
  { path: '/evidence/verify', component: () => import('./views/evidence/Verify.vue'), meta: { public: true, title: '电子证据公开验证' } },
  // FP-101: 数据大屏, outside the console's layout: the canvas owns the whole display.
  // FP-118, FP-119, FP-120, FP-141: a topic board on the big screen, outside the layout like 数据大屏.
  { path: '/topic-screen/:board?', component: () => import('./views/dashboard/topics/TopicScreen.vue'), meta: { title: '专题大屏', menus: ['dashboard.screen'] } },
  { path: '/screen', component: () => import('./views/dashboard/Screen.vue'), meta: { title: '数据大屏', menus: ['dashboard.screen'] } },
  { path: '/', component: () => import('./layout/MainLayout.vue'), children: pages },
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  const auth = useAuth()
  if (!auth.me) {
    try {
      await auth.load()
    } catch {
      return { path: '/login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
    }
  }
  if (auth.mustChange) return { path: '/login', query: { change: '1' } }
  if (to.path === '/') return auth.firstPath
  const menus = (to.meta.menus as string[] | undefined) ?? []
  if (to.path !== '/forbidden' && !auth.hasMenu(menus)) return '/forbidden'
  return true
})

router.afterEach((to) => {
  document.title = `${(to.meta.title as string) || '管理控制台'} - 石家庄市市场智慧监管平台`
})
