import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The console is served by the Go function under /console/ (embedded dist).
// `npm run dev` proxies the APIs to a locally running platform.
const platform = process.env.SMARTREG_URL || 'http://localhost:8080'

export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // Big libraries in their own long-cached chunks: a console upgrade
        // then re-downloads only the app's own code.
        manualChunks(id: string) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts'
          if (id.includes('node_modules/element-plus') || id.includes('node_modules/@element-plus')) return 'element-plus'
          if (id.includes('node_modules/')) return 'vendor'
        },
      },
    },
  },
  server: {
    proxy: Object.fromEntries(
      ['/identity', '/registry', '/qr', '/scan'].map((p) => [p, { target: platform, changeOrigin: false }]),
    ),
  },
})
