// FP-136, FP-137: the smart search's types, as the server defines them
// (functions/datahub/search.go), and the builder's operators per type.
export interface Cond {
  op: string; not?: boolean; items?: Cond[]; field?: string; value?: string; value2?: string; values?: string[]
}
export interface Aggregate { fn: string; field?: string }
export interface Spec {
  dataset: string; expr?: string; builder?: Cond; select?: string[]; group_by?: string[]; aggregates?: Aggregate[]
  order?: { by: string; desc?: boolean }[]
}
export interface Variable { name: string; field: string; type: string; title: string }
export interface Column { name: string; title: string; type: string; masked?: boolean }
export interface Check { expr: string; builder?: Cond; drawable: boolean; variables: Variable[]; columns: Column[] }
export interface Result { columns: Column[]; rows: Record<string, any>[]; total: number; page: number; page_size: number; expr: string }
export interface Formula {
  id: number; name: string; description: string; spec: Spec; shared: boolean; owner_name: string; mine: boolean
  variables: Variable[]; problem?: string; updated_at: string
}

export const opNames: Record<string, string> = {
  eq: '等于', neq: '不等于', gt: '大于', gte: '大于等于', lt: '小于', lte: '小于等于', between: '介于', in: '属于',
  contains: '包含', starts_with: '开头是', ends_with: '结尾是',
}

export function opsFor(type: string): string[] {
  const cmp = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in']
  return type === 'text' ? [...cmp, 'contains', 'starts_with', 'ends_with'] : cmp
}

export const aggNames: Record<string, string> = { count: '计数', sum: '合计', avg: '平均', max: '最大', min: '最小' }
