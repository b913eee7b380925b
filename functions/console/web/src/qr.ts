// The qr-generate API (/qr/v1) as the console uses it. Paths follow
// functions/qr-generate/openapi.yaml.
export const qrStatus: Record<string, { label: string; type: 'success' | 'warning' | 'danger' | 'info' }> = {
  pending: { label: '待审核', type: 'warning' },
  active: { label: '有效', type: 'success' },
  rejected: { label: '已驳回', type: 'danger' },
  invalid: { label: '已失效', type: 'info' },
}
export const entityTypes: Record<string, string> = {
  enterprise: '企业', individual: '个体工商户', cooperative: '农民专业合作社', institution: '事业单位', non_enterprise: '民办非企业单位',
}
export const codeURL = (token: string, tail = '') => `/qr/v1/codes/${encodeURIComponent(token)}${tail}`
/** Image and poster downloads: {token}.png?size=, {token}.svg, {token}/poster.pdf?paper= */
export const imageURL = (token: string, kind: 'png' | 'svg' | 'poster') =>
  kind === 'poster' ? codeURL(token, '/poster.pdf') : `/qr/v1/codes/${encodeURIComponent(token)}.${kind}`

/** Batch issuance jobs (批量赋码任务): POST/GET /qr/v1/batches, GET /qr/v1/batches/{id}. */
export const jobStatus: Record<string, { label: string; type: 'success' | 'warning' | 'danger' | 'info' | 'primary' }> = {
  queued: { label: '排队中', type: 'info' },
  running: { label: '执行中', type: 'warning' },
  done: { label: '已完成', type: 'success' },
  failed: { label: '失败', type: 'danger' },
}
export interface BatchJob {
  id: number
  batch_id: string
  selection: { credit_codes?: string[]; district_code?: string; industry_code?: string; entity_type?: string }
  code_count: number
  operator: string
  status: 'queued' | 'running' | 'done' | 'failed'
  status_name: string
  total: number
  target: number
  issued: number
  pending_review: number
  skipped: number
  unknown_count: number
  unknown: string[]
  events: number
  attempts: number
  error: string
  created_at: string
  started_at: string | null
  finished_at: string | null
}
