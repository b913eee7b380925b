// FP-129: the warning board's names, shared by the page and the pop-up at login.
export const levelName: Record<string, string> = { red: '红色预警', orange: '橙色预警', yellow: '黄色预警', blue: '蓝色预警' }
export const levelColor: Record<string, string> = { red: '#d9001b', orange: '#f59a23', yellow: '#d4b106', blue: '#1677ff' }
export const stateName: Record<string, string> = { pending: '待处理', processing: '处理中', done: '已处理' }
const sources: Record<string, string> = {
  identity: '统一身份认证', audit: '安全审计', monitor: '网络市场监测', registry: '市场主体', dispatch: '指挥调度', 'alarm-intake': '一键报警',
  metrology: '计量监管', dashboard: '指标看板', 'scan-resolve': '扫码检查', notify: '消息中心', 'entity-graph': '企业图谱',
}
export function sourceName(s: string): string { return sources[s] || s }
