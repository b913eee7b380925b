// FP-54–64: shared pieces of the policy-match pages (惠企政策).
import { get } from './api'

export const dimNames: Record<string, string> = { type: '政策类型', level: '政策层级', timeliness: '时效', category: '政策类别', department: '发文部门' }
export const statusNames: Record<string, { label: string; type: 'primary' | 'success' | 'info' | 'warning' | 'danger' }> = {
  draft: { label: '草稿', type: 'info' }, published: { label: '已发布', type: 'success' }, withdrawn: { label: '已撤回', type: 'warning' },
}
export const timelinessType: Record<string, 'success' | 'warning' | 'info' | 'danger'> = {
  即将生效: 'info', 已生效: 'success', 即将过期: 'warning', 已过期: 'danger',
}
export const sizeNames: Record<string, string> = { large: '大型', medium: '中型', small: '小型', micro: '微型', unknown: '规模未知' }
export const entityTypeNames: Record<string, string> = {
  enterprise: '企业', individual: '个体工商户', cooperative: '农民专业合作社', institution: '事业单位', non_enterprise: '民办非企业单位',
}

export interface Meta {
  dimensions: Record<string, string[]>
  entity_types: Record<string, string>
  sizes: Record<string, string>
  districts: { code: string; name: string }[]
  sections: { code: string; name: string }[]
  thresholds: { soon_effective_days: number; soon_expiring_days: number }
}

let metaCache: Promise<Meta> | null = null
export function loadMeta(): Promise<Meta> {
  if (!metaCache) metaCache = get<Meta>('/policy/v1/meta').catch((e) => { metaCache = null; throw e })
  return metaCache
}

/** A condition as the editor holds it (numbers may be empty). */
export interface Condition {
  industries?: string[]; entity_types?: string[]; sizes?: string[]; districts?: string[]
  established_from?: string; established_to?: string; min_age_years?: number; max_age_years?: number
  capital_min?: number | null; capital_max?: number | null
  not_abnormal?: boolean; not_serious_illegal?: boolean; not_blacklisted?: boolean; no_penalty_years?: number
}

/** The condition in words, for lists. */
export function conditionText(c: Condition, districtName: (c: string) => string): string {
  const parts: string[] = []
  if (c.industries?.length) parts.push('行业 ' + c.industries.join('、'))
  if (c.entity_types?.length) parts.push(c.entity_types.map((t) => entityTypeNames[t] || t).join('、'))
  if (c.sizes?.length) parts.push(c.sizes.map((s) => sizeNames[s] || s).join('、'))
  if (c.districts?.length) parts.push(c.districts.map(districtName).join('、'))
  if (c.established_from) parts.push(c.established_from + ' 以后成立')
  if (c.established_to) parts.push(c.established_to + ' 以前成立')
  if (c.min_age_years) parts.push(`成立满 ${c.min_age_years} 年`)
  if (c.max_age_years) parts.push(`成立不满 ${c.max_age_years} 年`)
  if (c.capital_min != null) parts.push(`注册资本≥${c.capital_min}万元`)
  if (c.capital_max != null) parts.push(`注册资本≤${c.capital_max}万元`)
  if (c.not_abnormal) parts.push('未列入经营异常名录')
  if (c.not_serious_illegal) parts.push('未列入严重违法失信名单')
  if (c.not_blacklisted) parts.push('不在黑名单')
  if (c.no_penalty_years) parts.push(`近 ${c.no_penalty_years} 年无处罚`)
  return parts.length ? parts.join('；') : '不限（所有存续主体）'
}
