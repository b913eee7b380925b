// Shared bits of the metrology pages (FP-165–180): the party the user
// acts for, the catalogue, labels. The APIs confine every answer to the
// user's scope and party; the pages only choose what to offer.
import { ref } from 'vue'
import { get, post } from './api'
import { useAuth } from './stores/auth'

export const M = '/metrology/v1'

export const statusLabels: Record<string, string> = { idle: '未启用', in_use: '工作中', stopped: '停用', scrapped: '报废' }
export const statusTypes: Record<string, string> = { idle: 'info', in_use: 'success', stopped: 'warning', scrapped: 'danger' }
export const appStatusTypes: Record<string, string> = {
  pending_approval: 'warning', rejected: 'danger', submitted: 'primary', accepted: 'success',
  partially_returned: 'warning', returned: 'danger', completed: 'success',
}
export const resultLabels: Record<string, string> = { pass: '合格', fail: '不合格', '': '—' }

export function roleCodes(): string[] {
  const auth = useAuth()
  return (auth.me?.roles || []).map((r) => (typeof r === 'string' ? r : r.code))
}
export const isEnterprise = () => roleCodes().includes('metrology_enterprise')
export const isInstitution = () => roleCodes().includes('metrology_institution')

export interface Category { code: string; item_code: string; item_name: string; name: string; nozzles: boolean; cycle_months: number; unsure: boolean; note: string }
export interface Item { code: string; name: string; categories: Category[] }

const catalogue = ref<Item[]>([])
export async function loadCatalogue(): Promise<Item[]> {
  if (!catalogue.value.length) catalogue.value = await get<Item[]>(`${M}/catalogue`)
  return catalogue.value
}
export function categoryOf(code: string): Category | undefined {
  for (const it of catalogue.value) for (const c of it.categories) if (c.code === code) return c
  return undefined
}

/** The enterprise account's own view (FP-180): its enterprise, if bound. */
export async function mine(): Promise<any> { return get(`${M}/mine`) }

/** Counts a visit of a page for the weekly visits (FP-179); never fails a page. */
export function visit(page: string) { post(`${M}/visits`, { page }).catch(() => {}) }
