// FP-118, FP-119, FP-120, FP-141: the topic boards (functions/dashboard), shared by the
// big-screen canvas (TopicScreen.vue) and the PC / phone page (Topics.vue): what each
// board fetches and the ECharts options of its charts, drawn at a given font size so
// the same chart reads on a 5760-px wall and on a 390-px phone.

export interface Option { code: string; name: string }
export interface Named { code: string; name: string; count: number }
export interface LicenceCount { code?: string; name?: string; licences: number; valid: number; expired: number; entities: number }
export interface LicenceBoard {
  generated_at: string; refreshed_at: string | null; notice?: string; options: Option[]
  totals: LicenceCount; categories: LicenceCount[]; districts: LicenceCount[]
  years: { code: string; name: string; years: number[]; counts: number[] }[]
}
export interface PenaltyCount { code?: string; name?: string; cases: number; closed: number; amount: number }
export interface PenaltyBoard {
  generated_at: string; refreshed_at: string | null; notice?: string; options: Option[]; from: string; to: string
  totals: PenaltyCount; districts: PenaltyCount[]; types: PenaltyCount[]; trend: { year: number; filed: number; closed: number }[]
}
export interface OnlineBoard {
  generated_at: string; notice?: string; options: Option[]
  totals: { presences: number; entities: number; with_clues: number; open_clues: number }
  forms: Named[]; districts: Named[]; platforms: Named[]
}
export type BoardKey = 'licences' | 'penalties' | 'online'
export type BoardData = LicenceBoard | PenaltyBoard | OnlineBoard

export interface Total { label: string; value: string }
export interface ChartSpec { key: string; title: string; option: (f: number, dark: boolean) => Record<string, any> }
export interface ListRow { name: string; value: string; bar: number }

export interface BoardDef {
  key: BoardKey
  title: string
  api: string
  // The query parameter its filter sets and the filter's label.
  filterParam: string
  filterLabel: string
  listTitle: string
}

export const boards: BoardDef[] = [
  { key: 'licences', title: '许可备案专版', api: '/dashboard/v1/topics/licences', filterParam: 'category', filterLabel: '许可类别', listTitle: '区县许可排名' },
  { key: 'penalties', title: '行政处罚专版', api: '/dashboard/v1/topics/penalties', filterParam: 'case_type', filterLabel: '案件类型', listTitle: '区县立案排名' },
  { key: 'online', title: '网络监管专题', api: '/dashboard/v1/topics/online', filterParam: 'form', filterLabel: '经营形式', listTitle: '主要平台' },
]
export const boardOf = (k: unknown): BoardDef => boards.find((b) => b.key === k) ?? boards[0]

const fmt = (n: number | undefined) => (n ?? 0).toLocaleString('zh-CN')
const yuan = (n: number) => (n >= 10000 ? (n / 10000).toLocaleString('zh-CN', { maximumFractionDigits: 2 }) + ' 万元' : fmt(n) + ' 元')
export const palette = ['#4fc3f7', '#81c784', '#ffb74d', '#e57373', '#ba68c8', '#4db6ac', '#fff176', '#90a4ae', '#f06292']

function axisText(f: number, dark: boolean) { return { color: dark ? '#cfe8ff' : '#606266', fontSize: f * 0.7 } }
function base(f: number, dark: boolean) {
  // Never animated: a wall redraws every minute and must not flicker; the
  // page redraws on every filter and should answer at once.
  return { animation: false, color: palette, textStyle: axisText(f, dark), tooltip: { trigger: 'axis', confine: true } }
}
function legend(f: number, dark: boolean) { return { top: 0, textStyle: axisText(f, dark), itemWidth: f, itemHeight: f * 0.6 } }
function grid(f: number, left = 3) { return { left: f * left, right: f, top: f * 2.2, bottom: f * 1.6, containLabel: true } }

function barByName(items: { name?: string }[], series: { name: string; data: number[]; stack?: string }[], f: number, dark: boolean, horizontal = false) {
  const cat = { type: 'category', data: items.map((x) => x.name ?? ''), axisLabel: { ...axisText(f, dark), interval: 0, rotate: horizontal ? 0 : (items.length > 8 ? 40 : 0) } }
  const val = { type: 'value', axisLabel: axisText(f, dark), splitLine: { lineStyle: { color: dark ? 'rgba(79,195,247,.15)' : '#eee' } } }
  return {
    ...base(f, dark), legend: series.length > 1 ? legend(f, dark) : undefined, grid: grid(f),
    xAxis: horizontal ? val : cat, yAxis: horizontal ? { ...cat, inverse: true } : val,
    series: series.map((s) => ({ type: 'bar', name: s.name, stack: s.stack, data: s.data, barMaxWidth: f * 1.4 })),
  }
}
function pie(items: { name: string; value: number }[], f: number, dark: boolean) {
  return { ...base(f, dark), tooltip: { trigger: 'item', confine: true }, legend: { ...legend(f, dark), type: 'scroll' },
    series: [{ type: 'pie', radius: ['35%', '62%'], center: ['50%', '58%'], label: { ...axisText(f, dark), formatter: '{b}\n{d}%' },
      data: items.filter((x) => x.value > 0) }] }
}

// A county bar shows the counties that have any, most first: twenty-four
// labels, most of them zero, do not read on a phone (the ranking beside
// the charts keeps the zeros).
function ranked<T>(items: T[], n: (x: T) => number): T[] {
  const some = items.filter((x) => n(x) > 0).sort((a, b) => n(b) - n(a))
  return some.length ? some : items
}

export function totals(k: BoardKey, d: BoardData | null): Total[] {
  if (k === 'licences') {
    const t = (d as LicenceBoard | null)?.totals
    return [{ label: '许可总数（件）', value: fmt(t?.licences) }, { label: '有效（件）', value: fmt(t?.valid) },
      { label: '已过期（件）', value: fmt(t?.expired) }, { label: '持证主体（户）', value: fmt(t?.entities) }]
  }
  if (k === 'penalties') {
    const t = (d as PenaltyBoard | null)?.totals
    return [{ label: '立案（件）', value: fmt(t?.cases) }, { label: '已结案（件）', value: fmt(t?.closed) },
      { label: '结案率', value: t?.cases ? Math.round(t.closed / t.cases * 100) + '%' : '—' }, { label: '罚没金额', value: yuan(t?.amount ?? 0) }]
  }
  const t = (d as OnlineBoard | null)?.totals
  return [{ label: '网络经营主体（个）', value: fmt(t?.presences) }, { label: '关联市场主体（户）', value: fmt(t?.entities) },
    { label: '有线索的（个）', value: fmt(t?.with_clues) }, { label: '待研判线索（条）', value: fmt(t?.open_clues) }]
}

// The charts of each board, in their order on every form of it. A board
// with more charts than a form's slots pages them (FP-141).
export function charts(k: BoardKey, d: BoardData | null): ChartSpec[] {
  if (!d || d.notice && !hasData(k, d)) return []
  if (k === 'licences') {
    const b = d as LicenceBoard
    return [
      { key: 'categories', title: '各类许可（有效 / 已过期）', option: (f, dark) => barByName(b.categories, [
        { name: '有效', data: b.categories.map((c) => c.valid), stack: 's' }, { name: '已过期', data: b.categories.map((c) => c.expired), stack: 's' },
        { name: '其他', data: b.categories.map((c) => c.licences - c.valid - c.expired), stack: 's' }], f, dark) },
      { key: 'holders', title: '持证主体构成', option: (f, dark) => pie(b.categories.map((c) => ({ name: c.name ?? '', value: c.entities })), f, dark) },
      { key: 'districts', title: '各区县许可数', option: (f, dark) => {
        const ds = ranked(b.districts, (c) => c.licences)
        return barByName(ds, [{ name: '许可', data: ds.map((c) => c.licences) }], f, dark)
      } },
      { key: 'years', title: '近五年发证趋势', option: (f, dark) => ({ ...base(f, dark), legend: legend(f, dark), grid: grid(f),
        xAxis: { type: 'category', data: (b.years[0]?.years ?? []).map(String), axisLabel: axisText(f, dark) },
        yAxis: { type: 'value', axisLabel: axisText(f, dark) },
        series: b.years.map((l) => ({ type: 'line', name: l.name, data: l.counts, symbolSize: f * 0.4, lineStyle: { width: Math.max(2, f / 10) } })) }) },
    ]
  }
  if (k === 'penalties') {
    const b = d as PenaltyBoard
    return [
      { key: 'districts', title: '各区县立案数', option: (f, dark) => {
        const ds = ranked(b.districts, (c) => c.cases)
        return barByName(ds, [{ name: '立案', data: ds.map((c) => c.cases) }], f, dark)
      } },
      { key: 'trend', title: '近五年立案与结案', option: (f, dark) => ({ ...base(f, dark), legend: legend(f, dark), grid: grid(f),
        xAxis: { type: 'category', data: b.trend.map((y) => String(y.year)), axisLabel: axisText(f, dark) },
        yAxis: { type: 'value', axisLabel: axisText(f, dark) },
        series: [
          { type: 'pictorialBar', name: '立案', symbol: 'rect', symbolRepeat: true, symbolSize: [f * 0.9, f * 0.3], symbolMargin: f * 0.08,
            symbolOffset: [-f * 0.55, 0], data: b.trend.map((y) => y.filed), itemStyle: { color: '#4fc3f7' } },
          { type: 'pictorialBar', name: '结案', symbol: 'rect', symbolRepeat: true, symbolSize: [f * 0.9, f * 0.3], symbolMargin: f * 0.08,
            symbolOffset: [f * 0.55, 0], data: b.trend.map((y) => y.closed), itemStyle: { color: '#81c784' } },
        ] }) },
      { key: 'types', title: '案件类型（件）', option: (f, dark) => pie(b.types.map((c) => ({ name: c.name ?? '', value: c.cases })), f, dark) },
      { key: 'amounts', title: '各类案件罚没金额（元）', option: (f, dark) => barByName(b.types.filter((c) => c.cases > 0),
        [{ name: '金额', data: b.types.filter((c) => c.cases > 0).map((c) => Math.round(c.amount)) }], f, dark, true) },
    ]
  }
  const b = d as OnlineBoard
  return [
    { key: 'forms', title: '网络经营形式', option: (f, dark) => pie(b.forms.map((c) => ({ name: c.name, value: c.count })), f, dark) },
    { key: 'districts', title: '各区县网络经营主体', option: (f, dark) => {
      const ds = ranked(b.districts, (c) => c.count)
      return barByName(ds, [{ name: '主体', data: ds.map((c) => c.count) }], f, dark)
    } },
    { key: 'platforms', title: '平台分布', option: (f, dark) => barByName(b.platforms.slice(0, 10), [{ name: '主体', data: b.platforms.slice(0, 10).map((c) => c.count) }], f, dark, true) },
  ]
}

export function hasData(k: BoardKey, d: BoardData | null): boolean {
  if (!d) return false
  if (k === 'licences') return (d as LicenceBoard).totals.licences > 0
  if (k === 'penalties') return (d as PenaltyBoard).totals.cases > 0 || (d as PenaltyBoard).trend.some((y) => y.filed > 0)
  return (d as OnlineBoard).totals.presences > 0
}

// The ranking beside the charts (a county list, or the platforms).
export function listRows(k: BoardKey, d: BoardData | null): ListRow[] {
  if (!d || !hasData(k, d)) return []
  let rows: { name: string; n: number; value: string }[]
  if (k === 'licences') rows = (d as LicenceBoard).districts.map((x) => ({ name: x.name ?? '', n: x.licences, value: fmt(x.licences) + ' 件' }))
  else if (k === 'penalties') rows = (d as PenaltyBoard).districts.map((x) => ({ name: x.name ?? '', n: x.cases, value: fmt(x.cases) + ' 件 / ' + yuan(x.amount) }))
  else rows = (d as OnlineBoard).platforms.map((x) => ({ name: x.name, n: x.count, value: fmt(x.count) + ' 个' }))
  rows.sort((a, b) => b.n - a.n)
  const max = Math.max(1, ...rows.map((r) => r.n))
  return rows.map((r) => ({ name: r.name, value: r.value, bar: r.n / max }))
}
