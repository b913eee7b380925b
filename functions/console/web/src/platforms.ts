// FP-115, FP-116, FP-117: shared pieces of the third-party pages (三方平台、数据交互配置、数据交互日志).
import { ApiError } from './api'

/** The field errors of a refused save, by field name, for el-form-item :error. */
export function fieldErrors(e: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (e instanceof ApiError) for (const f of e.fields) out[f.field] = f.message
  return out
}

export const stateNames: Record<string, { label: string; type: 'success' | 'info' | 'warning' | 'danger' | 'primary' }> = {
  untested: { label: '未联调', type: 'info' }, testing: { label: '联调中', type: 'warning' },
  tested: { label: '已联调', type: 'success' }, disabled: { label: '已停用', type: 'danger' },
}
export const authNames: Record<string, string> = {
  none: '无认证', api_key: 'API Key 请求头', hmac: 'HMAC-SHA256 签名', oauth2: 'OAuth2 客户端凭据',
}
export const triggerNames: Record<string, string> = { test: '测试连接', manual: '手动执行', schedule: '定时执行' }

export interface Mapping { source: string; target: string }
export interface RunResult {
  config_id: number; trigger: string; ok: boolean; calls: number; rows_read: number; rows_written: number
  rows_rejected: number; message: string; log_ids: number[]; preview?: Record<string, unknown>[]
}
