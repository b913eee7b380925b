// FP-90: the evidence-capture API (/evidence/v1) as the console uses it
// (functions/evidence-capture/openapi.yaml).
import { ApiError, get } from './api'

export interface EvidenceFile { path: string; size: number; sha256: string; sm3: string; type?: string }
export interface Bundle {
  id: string; title: string; kind: string; sha256: string; sm3: string; log_index: number
  created_by: string; created_at: string; files: EvidenceFile[]
}
export interface LookupEntry { bundle: Bundle; receipt?: string; pending: boolean }
export interface Lookup { found: boolean; bundles: LookupEntry[] }

export const kindNames: Record<string, string> = { web: '网页取证', upload: '上传封存' }

/** The file's SHA-256 in hex, computed in the browser so the user sees it before (or without) sending the file. */
export async function sha256Hex(f: Blob): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', await f.arrayBuffer())
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('')
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} 字节`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

/**
 * The bundle's receipt (c2sp.org/tlog-proof), or null while the log has no
 * checkpoint covering it yet (409): the caller polls a few times.
 */
export async function receipt(id: string): Promise<string | null> {
  const r = await fetch(`/evidence/v1/bundles/${id}/receipt`, { credentials: 'same-origin' })
  if (r.status === 409) return null
  if (!r.ok) {
    const body = await r.json().catch(() => null)
    throw new ApiError(r.status, body?.error?.code || 'error', body?.error?.message || `回执读取失败（${r.status}）`)
  }
  return r.text()
}

export const getBundle = (id: string) => get<Bundle>(`/evidence/v1/bundles/${id}`)

/** Fetches bundle.zip (409 until the receipt exists, as the zip carries it). */
export async function fetchZip(id: string): Promise<Blob> {
  const r = await fetch(`/evidence/v1/bundles/${id}/bundle.zip`, { credentials: 'same-origin' })
  if (!r.ok) {
    const body = await r.json().catch(() => null)
    throw new ApiError(r.status, body?.error?.code || 'error', body?.error?.message || `证据包下载失败（${r.status}）`)
  }
  return r.blob()
}

export function saveBlob(b: Blob, name: string) {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(b)
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10000)
}

/**
 * One member of a zip, read in the browser: the API serves the extraction
 * record only inside bundle.zip, so the console takes it out rather than
 * asking for another endpoint. Handles stored and deflated members.
 */
export async function zipMember(zip: Blob, name: string): Promise<Blob | null> {
  const buf = new Uint8Array(await zip.arrayBuffer())
  const v = new DataView(buf.buffer)
  let eocd = -1
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (v.getUint32(i, true) === 0x06054b50) { eocd = i; break }
  }
  if (eocd < 0) return null
  const count = v.getUint16(eocd + 10, true)
  let p = v.getUint32(eocd + 16, true)
  const dec = new TextDecoder()
  for (let n = 0; n < count && v.getUint32(p, true) === 0x02014b50; n++) {
    const method = v.getUint16(p + 10, true)
    const csize = v.getUint32(p + 20, true)
    const nlen = v.getUint16(p + 28, true), elen = v.getUint16(p + 30, true), clen = v.getUint16(p + 32, true)
    const local = v.getUint32(p + 42, true)
    const fname = dec.decode(buf.subarray(p + 46, p + 46 + nlen))
    if (fname === name) {
      const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true)
      const data = buf.slice(start, start + csize)
      if (method === 0) return new Blob([data])
      if (method !== 8) return null
      const s = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'))
      return new Response(s).blob()
    }
    p += 46 + nlen + elen + clen
  }
  return null
}
