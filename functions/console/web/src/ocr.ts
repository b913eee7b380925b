// The ocr-idcard API (/ocr/v1) as the console uses it (functions/ocr-idcard/openapi.yaml).
export interface Field { value: string; /** 0–1 */ confidence: number; checks?: { name: string; passed: boolean; message?: string }[]; repaired?: boolean; flagged?: boolean; options?: string[] }

/** Posts a multipart upload; the error body's Chinese message (with its field messages) is thrown. */
export async function upload<T = any>(url: string, parts: Record<string, File | null | undefined>): Promise<T> {
  const fd = new FormData()
  for (const [k, f] of Object.entries(parts)) if (f) fd.append(k, f, f.name)
  const r = await fetch(url, { method: 'POST', body: fd, credentials: 'same-origin', headers: { Accept: 'application/json' } })
  const body = await r.json().catch(() => null)
  if (!r.ok) {
    const e = body?.error
    const extra = (e?.fields || []).map((x: any) => x.message).filter((m: string) => m && !e.message.includes(m))
    throw new Error(e?.message ? (extra.length ? `${e.message}：${extra.join('；')}` : e.message) : `识别失败（${r.status}）`)
  }
  return body as T
}

export const checkNames: Record<string, string> = {
  gb11643: '校验位', region: '地区码', id_number: '与号码一致', date: '日期', division: '行政区划', ethnicity: '民族名称',
  authority: '签发机关', age: '有效期与年龄', gb32100: '代码校验位',
}

/** Whether a typed value differs from the read one (spaces and case ignored). */
export function differs(typed: string | undefined, read: string | undefined): boolean {
  const n = (s?: string) => (s || '').replace(/\s+/g, '').toUpperCase()
  return !!n(typed) && !!n(read) && n(typed) !== n(read)
}

export const verifyResult: Record<string, { label: string; type: 'success' | 'warning' | 'danger' | 'info' }> = {
  match: { label: '核验一致', type: 'success' },
  no_match: { label: '姓名与号码不一致', type: 'danger' },
  not_found: { label: '查无此号码', type: 'danger' },
  photo_mismatch: { label: '照片不符', type: 'warning' },
  unavailable: { label: '核验服务不可用', type: 'info' },
}
