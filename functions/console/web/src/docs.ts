// Documents (文书管理, FP-36–45): types and helpers shared by the docs pages.
import { post } from './api'

export type FieldType = 'text' | 'date' | 'amount' | 'credit_code' | 'choice' | 'signature'
export interface Field {
  key: string; label: string; type: FieldType; prompt: string; required: boolean
  multiline?: boolean; min_len?: number; max_len?: number; options?: string[]; min?: string; max?: string; prefill?: string
}
export interface Block { text: string; align?: string }
export interface Rendered { title: string; blocks: Block[]; text: string }
export interface FieldDiff { key: string; label: string; type: string; from: string; to: string; change: string }
export interface LineDiff { op: string; from: string; to: string }
export interface Diff { from: string; to: string; fields: FieldDiff[]; text: LineDiff[] }
export interface DocVersion {
  version: string; template_version: string; values: Record<string, string>; text: string; change: string; kind: string
  summary: string; note: string; saved_by: string; saved_by_name: string; saved_at: string; publication: string
  publication_name: string; verify_url: string; published_at?: string; pdf_sha256: string; docx_sha256: string
}
export interface Grant { kind: string; id: string; name: string; perms: string[]; granted_by: string; granted_at: string }
export interface DocDetail {
  id: number; template_code: string; template_title: string; kind: string; kind_name: string; template_version: string
  credit_code: string; entity_name: string; title: string; state: string; state_name: string; version: string
  owner_id: string; owner_name: string; reject_reason: string; reviewed_by: string; access: string[]; updated_at: string
  values: Record<string, string>; fields: Field[]; rendered: Rendered; current: DocVersion; grants: Grant[]
  latest_template_version: string; template_body: string; editable: boolean
}

export const fieldTypes: { value: FieldType; label: string }[] = [
  { value: 'text', label: '文本' }, { value: 'date', label: '日期' }, { value: 'amount', label: '金额' },
  { value: 'credit_code', label: '统一社会信用代码' }, { value: 'choice', label: '选项' }, { value: 'signature', label: '签章栏' },
]
export const kinds: Record<string, string> = { pledge: '自律承诺书', credit_repair: '信用修复申请书', other: '其他文书' }
export const states: Record<string, string> = { draft: '草稿', submitted: '已提交', approved: '审核通过', rejected: '已退回', published: '已发布' }
export const stateTag: Record<string, string> = { draft: 'info', submitted: 'warning', approved: 'success', rejected: 'danger', published: 'success' }
export const accessNames: Record<string, string> = { read: '查看', edit: '编辑', print: '打印下载', share: '分享转发' }
export const changeNames: Record<string, string> = { initial: '初始版本', major: '主版本', minor: '次版本', patch: '修订' }
export const prefillSources: Record<string, string> = {
  credit_code: '统一社会信用代码', name: '主体名称', legal_rep: '法定代表人', address: '住所', established_on: '成立日期',
  registered_capital: '注册资本', 'repairable.kind': '待修复记录·类别', 'repairable.ref_no': '待修复记录·文书号',
  'repairable.authority': '待修复记录·机关', 'repairable.occurred_on': '待修复记录·日期',
}

/** Field errors of an API error, by field key ("values.reason" → "reason"). */
export function fieldErrors(e: any, prefix = 'values.'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of e?.fields || []) if (f.field?.startsWith(prefix)) out[f.field.slice(prefix.length)] = f.message
  return out
}

/** Renders values into a template on the server (the live preview). */
export async function preview(title: string, body: string, fields: Field[], values: Record<string, string>) {
  return post<{ rendered: Rendered; problems: { field: string; message: string }[] }>('/docs/v1/templates/preview',
    { template: { kind: 'other', title, body, fields }, values })
}

export const docURL = (id: number | string, rest = '') => `/docs/v1/documents/${id}${rest}`
