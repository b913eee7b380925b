import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import 'element-plus/dist/index.css'
import './style.css'
import App from './App.vue'
import { router } from './router'
import { setUnauthorizedHandler } from './api'
import { useAuth, OFFLINE_ME } from './stores/auth'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia).use(router).use(ElementPlus, { locale: zhCn })

setUnauthorizedHandler(() => {
  const auth = useAuth(pinia)
  auth.me = null
  localStorage.removeItem(OFFLINE_ME)
  const cur = router.currentRoute.value
  if (!cur.meta.public) router.replace({ path: '/login', query: { redirect: cur.fullPath } })
})

app.mount('#app')

// The inspectors' app installs as a PWA and opens offline (public/sw.js);
// a browser without service workers simply works online.
if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  navigator.serviceWorker.register('/console/sw.js', { scope: '/console/' }).catch(() => { /* online only */ })
}
