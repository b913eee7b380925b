import { onBeforeUnmount, onMounted, reactive, ref } from 'vue'
import { ElMessage } from 'element-plus'
import { get, messageOf, type Page, type Query } from './api'

/** True on a phone-width screen; the layout switches to a drawer menu. */
export function useIsMobile() {
  const mobile = ref(window.innerWidth < 768)
  const onResize = () => { mobile.value = window.innerWidth < 768 }
  onMounted(() => window.addEventListener('resize', onResize))
  onBeforeUnmount(() => window.removeEventListener('resize', onResize))
  return mobile
}

/**
 * A paged, filtered, sorted list backed by a list endpoint (httpx.PageOf):
 * ?page=&page_size=&q=&sort= → {items,total,page,page_size}. Sort is the
 * column name, "-name" for descending.
 */
export function useList<T = any>(url: string | (() => string), filters: Record<string, any> = {}, pageSize = 20) {
  const state = reactive({ items: [] as T[], total: 0, page: 1, pageSize, sort: '', loading: false, error: '', totalExact: true })
  const f = reactive(filters)
  function query(): Query {
    const q: Query = { page: state.page, page_size: state.pageSize, sort: state.sort || undefined }
    for (const [k, v] of Object.entries(f)) {
      if (Array.isArray(v) && v.length === 2 && (k === 'range' || k.endsWith('_range'))) {
        q.from = v[0]; q.to = v[1]
      } else q[k] = v
    }
    return q
  }
  async function load() {
    state.loading = true
    state.error = ''
    try {
      const r = await get<Page<T> | T[]>(typeof url === 'string' ? url : url(), query())
      // A few endpoints (roles, departments) answer the whole list as an array.
      if (Array.isArray(r)) {
        state.items = r as any
        state.total = r.length
        state.totalExact = true
      } else {
        state.items = (r.items || []) as any
        state.total = r.total || 0
        state.totalExact = r.total_exact !== false
      }
    } catch (e) {
      state.items = []
      state.total = 0
      state.error = messageOf(e)
      ElMessage.error(state.error)
    } finally {
      state.loading = false
    }
  }
  function search() { state.page = 1; return load() }
  function onSort(s: { prop: string | null; order: string | null }) {
    state.sort = s.order ? (s.order === 'descending' ? '-' : '') + s.prop : ''
    return search()
  }
  function onPage(p: number) { state.page = p; return load() }
  function onSize(s: number) { state.pageSize = s; return search() }
  return { state, filters: f, load, search, onSort, onPage, onSize, query }
}

export function fmtTime(s?: string | null): string {
  if (!s) return ''
  const d = new Date(s)
  if (isNaN(d.getTime())) return s
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}
