// FP-93, FP-95: shared pieces of the data hub pages (数据枢纽): the
// catalogue's types and the names shown for its codes.
import { get } from './api'

export interface Field { name: string; title: string; type: string; sensitivity: string; mask?: string; description?: string }
export interface Dataset {
  id: string; title: string; description: string; classification: string; owner: string
  frequency: string; permission: string; key: string; fields: Field[]
}
export interface Iface {
  id: number; name: string; dataset: string; fields: string[]; filter: string; unmask: boolean
  owner_name: string; key_prefix: string; rate_per_min: number; quota_per_day: number
  status: 'active' | 'revoked'; created_at: string; rotated_at?: string; revoked_at?: string; endpoint: string
}
/** A generated or rotated interface: the key is in this answer only. */
export interface Created extends Iface { key: string; openapi: string }

export const typeNames: Record<string, string> = { text: '文本', date: '日期', number: '数值', int: '整数', timestamp: '时间' }
export const sensitivityNames: Record<string, { label: string; type: 'success' | 'info' | 'warning' | 'danger' }> = {
  public: { label: '公开', type: 'success' }, internal: { label: '内部', type: 'warning' }, personal: { label: '个人信息', type: 'danger' },
}
export const maskNames: Record<string, string> = { name: '姓名', id_number: '身份证号', phone: '电话', address: '地址' }

/** The interface's own OpenAPI document. */
export const docURL = (id: number) => `/datahub/v1/interfaces/${id}/openapi.json`

/** The endpoint as an absolute URL, for the curl example and copying. */
export function absolute(path: string): string { return new URL(path, window.location.origin).toString() }

/** A curl example: the key travels in a header, never in the query string (which is logged). */
export function curlExample(endpoint: string, key: string): string {
  return `curl -H "X-API-Key: ${key}" '${absolute(endpoint)}?limit=10'`
}

let cache: Promise<Dataset[]> | null = null
export function loadDatasets(): Promise<Dataset[]> {
  if (!cache) cache = get<{ items: Dataset[] }>('/datahub/v1/datasets').then((r) => r.items || []).catch((e) => { cache = null; throw e })
  return cache
}

export async function copyText(s: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(s)
  // Plain-http consoles (the local platform) have no clipboard API.
  const t = document.createElement('textarea')
  t.value = s
  document.body.appendChild(t)
  t.select()
  document.execCommand('copy')
  t.remove()
}
