// One place for every call to the platform's APIs: same-origin, with the
// HttpOnly access cookie (smartreg_at) identity sets at login. A 401 is
// answered by one refresh attempt (shared by concurrent calls), then the
// login page.

export interface FieldError { field: string; message: string }

export class ApiError extends Error {
  status: number
  code: string
  fields: FieldError[]
  constructor(status: number, code: string, message: string, fields: FieldError[] = []) {
    super(message)
    this.status = status
    this.code = code
    this.fields = fields
  }
  /** The message plus every field error, for a toast. */
  get detail(): string {
    if (!this.fields.length) return this.message
    const extra = this.fields.map((f) => f.message).filter((m) => m && !this.message.includes(m))
    return extra.length ? `${this.message}：${extra.join('；')}` : this.message
  }
}

export interface Page<T> { items: T[]; total: number; page: number; page_size: number; total_exact?: boolean }

export type Query = Record<string, string | number | boolean | undefined | null | string[]>

let onUnauthorized: () => void = () => {}
export function setUnauthorizedHandler(fn: () => void) { onUnauthorized = fn }

let refreshing: Promise<boolean> | null = null
function refresh(): Promise<boolean> {
  if (!refreshing) {
    refreshing = fetch('/identity/v1/token/refresh', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: '{}',
    }).then((r) => r.ok).catch(() => false).finally(() => { setTimeout(() => { refreshing = null }, 0) })
  }
  return refreshing
}

export function buildURL(url: string, query?: Query): string {
  if (!query) return url
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x))
    else p.set(k, String(v))
  }
  const s = p.toString()
  return s ? url + (url.includes('?') ? '&' : '?') + s : url
}

async function toError(r: Response): Promise<ApiError> {
  let body: any = null
  try { body = await r.json() } catch { /* not JSON */ }
  const e = body?.error
  if (e?.message) return new ApiError(r.status, e.code || 'error', e.message, e.fields || [])
  const fallback: Record<number, string> = {
    400: '请求有误，请检查输入', 401: '登录已失效，请重新登录', 403: '没有权限执行此操作',
    404: '请求的资源不存在（该功能可能尚未开通）', 409: '数据已被他人修改，请刷新后重试',
    429: '操作过于频繁，请稍后再试', 502: '服务暂不可用，请稍后重试', 503: '服务暂不可用，请稍后重试',
  }
  return new ApiError(r.status, 'http_' + r.status, fallback[r.status] || `服务器错误（${r.status}），请稍后重试`)
}

const noRefresh = ['/identity/v1/login', '/identity/v1/token/refresh', '/identity/v1/password/reset']

async function send(method: string, url: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } }
  if (body !== undefined) {
    init.headers = { ...init.headers, 'Content-Type': 'application/json' }
    init.body = JSON.stringify(body)
  }
  let r: Response
  try {
    r = await fetch(url, init)
  } catch {
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试')
  }
  if (r.status === 401 && !noRefresh.some((p) => url.startsWith(p))) {
    if (await refresh()) {
      try { r = await fetch(url, init) } catch { throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试') }
    }
    if (r.status === 401) {
      onUnauthorized()
    }
  }
  return r
}

export async function request<T = any>(method: string, url: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
  const r = await send(method, buildURL(url, opts.query), opts.body)
  if (!r.ok) throw await toError(r)
  if (r.status === 204) return undefined as T
  const text = await r.text()
  return (text ? JSON.parse(text) : undefined) as T
}

export const get = <T = any>(url: string, query?: Query) => request<T>('GET', url, { query })
export const post = <T = any>(url: string, body: unknown = {}) => request<T>('POST', url, { body })
export const put = <T = any>(url: string, body: unknown = {}) => request<T>('PUT', url, { body })
export const del = <T = any>(url: string) => request<T>('DELETE', url)

/** Downloads an export: the server names the file (Content-Disposition). */
export async function download(url: string, query?: Query, fallbackName = '导出.xlsx', body?: unknown): Promise<void> {
  const r = await send(body === undefined ? 'GET' : 'POST', buildURL(url, query), body)
  if (!r.ok) throw await toError(r)
  const blob = await r.blob()
  const cd = r.headers.get('Content-Disposition') || ''
  let name = fallbackName
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(cd)
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(cd)
  if (star) name = decodeURIComponent(star[1])
  else if (plain) name = plain[1]
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10000)
}

/** A Chinese message for any thrown value. */
export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.detail
  if (e instanceof Error) return e.message
  return String(e)
}
