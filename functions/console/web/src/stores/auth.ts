import { defineStore } from 'pinia'
import { get, post, ApiError } from '../api'

// OFFLINE_ME is where the last answer of /me waits for an offline start.
export const OFFLINE_ME = 'smartreg_offline_me'

export interface MenuNode { code: string; title: string; path?: string; icon?: string; children?: MenuNode[] }
export interface Me {
  user: { id: string; username: string; name: string; dept_id?: string; dept_name?: string; phone?: string }
  roles: (string | { code: string; name?: string })[]
  perms: string[]
  menus: MenuNode[]
  scope: { kind: string; districts?: string[]; townships?: string[] }
  must_change_password?: boolean
}

/** "/console/#/system/users" → "/system/users" (the hash route). */
export function routeOf(path?: string): string {
  if (!path) return ''
  const i = path.indexOf('#')
  return i >= 0 ? path.slice(i + 1) : path.replace(/^\/console/, '')
}

export const useAuth = defineStore('auth', {
  state: () => ({
    me: null as Me | null,
    mustChange: sessionStorage.getItem('smartreg_must_change') === '1',
  }),
  getters: {
    menuCodes(state): Set<string> {
      const s = new Set<string>()
      const walk = (ms: MenuNode[]) => ms.forEach((m) => { s.add(m.code); walk(m.children || []) })
      walk(state.me?.menus || [])
      return s
    },
    firstPath(state): string {
      const walk = (ms: MenuNode[]): string => {
        for (const m of ms) {
          if (m.path) return routeOf(m.path)
          const c = walk(m.children || [])
          if (c) return c
        }
        return ''
      }
      return walk(state.me?.menus || []) || '/workbench'
    },
    roleNames(state): string[] {
      return (state.me?.roles || []).map((r) => (typeof r === 'string' ? r : r.name || r.code))
    },
  },
  actions: {
    can(perm: string): boolean { return !!this.me?.perms?.includes(perm) },
    hasMenu(codes: string[]): boolean { return codes.some((c) => this.menuCodes.has(c)) },
    async load(): Promise<Me> {
      try {
        this.me = await get<Me>('/identity/v1/me')
        // Kept without the phone number: only what draws the menus.
        localStorage.setItem(OFFLINE_ME, JSON.stringify({ ...this.me, user: { ...this.me.user, phone: undefined } }))
      } catch (e) {
        // Offline (no answer at all, not a refusal), the phone page still
        // opens from the service worker's copy with the last known menus,
        // so an alarm can be queued; every API call still needs the
        // session once the network is back.
        const kept = localStorage.getItem(OFFLINE_ME)
        if ((e instanceof ApiError && e.status !== 0) || !kept) throw e
        this.me = JSON.parse(kept) as Me
      }
      // Identity says when the password must change (first login, expiry).
      if (this.me.must_change_password) this.setMustChange(true)
      return this.me
    },
    async login(username: string, password: string, captcha?: { id: string; answer: string }) {
      const r = await post<{ must_change_password?: boolean }>('/identity/v1/login',
        { username, password, captcha_id: captcha?.id || undefined, captcha: captcha?.answer || undefined })
      this.setMustChange(!!r.must_change_password)
      sessionStorage.setItem('smartreg_just_logged_in', '1')
      return r
    },
    setMustChange(v: boolean) {
      this.mustChange = v
      if (v) sessionStorage.setItem('smartreg_must_change', '1')
      else sessionStorage.removeItem('smartreg_must_change')
    },
    async logout() {
      try { await post('/identity/v1/logout') } catch { /* already gone */ }
      this.me = null
      localStorage.removeItem(OFFLINE_ME)
      this.setMustChange(false)
    },
  },
})
