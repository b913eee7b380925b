// The console's service worker (FP-155: the inspectors' app installs as a
// PWA and opens without a network). It keeps only the app itself: the
// page and its hashed assets. API answers carry personal and case data
// and are never cached here; what the phone must not lose while offline
// (alarms, positions, hazard reports) waits in the page's own queue.
const SHELL = 'smartreg-shell-v1'
const PAGE = '/console/'

// keepShell stores the page and every asset it names, so the first
// offline start works even though the first online load ran before this
// worker controlled the page.
async function keepShell() {
  const c = await caches.open(SHELL)
  const r = await fetch(PAGE, { cache: 'no-cache' })
  if (!r.ok) return
  const html = await r.clone().text()
  await c.put(PAGE, r)
  const assets = [...html.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1])
  await c.addAll([...new Set(assets)])
}

self.addEventListener('install', (e) => {
  e.waitUntil(keepShell().then(() => self.skipWaiting()))
})

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()))
})

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url)
  if (e.request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/console/')) return
  if (e.request.mode === 'navigate') {
    // The page: the network first (an upgrade shows at once), the kept
    // copy when offline.
    e.respondWith(fetch(e.request).then((r) => {
      if (r.ok) caches.open(SHELL).then((c) => c.put(PAGE, r.clone()))
      return r
    }).catch(() => caches.match(PAGE)))
    return
  }
  if (url.pathname.startsWith('/console/assets/') || /\.(png|ico|json)$/.test(url.pathname)) {
    // Hashed assets never change: the kept copy first.
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(SHELL).then((c) => c.put(e.request, copy)) }
      return r
    })))
  }
})
