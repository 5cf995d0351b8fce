// 帮扶商城: Vite build of the shop into ../build/web, served by Kore at /
// (app/http_static.c).  Vant is imported per component; every route is its
// own chunk; the build writes .gz and .br copies beside each file for Kore.
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, gzipSync, constants } from 'node:zlib'

const outDir = '../build/web'

function precompress(): Plugin {
  return {
    name: 'bangfu-precompress',
    apply: 'build',
    closeBundle() {
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const p = join(dir, name)
          if (statSync(p).isDirectory()) { walk(p); continue }
          if (!/\.(js|css|html|svg|json|txt)$/.test(name)) continue
          const data = readFileSync(p)
          if (data.length < 1024) continue
          writeFileSync(p + '.gz', gzipSync(data, { level: 9 }))
          writeFileSync(p + '.br', brotliCompressSync(data, {
            params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
          }))
        }
      }
      walk(outDir)
    },
  }
}

// Vant's icon font names a fallback on at.alicdn.com after its inlined
// woff2: a third-party request over plain HTTP that the CSP refuses (a
// console error on every page).  The inlined font is all a browser that
// runs this app needs, so the fallback is cut from the CSS.
function noRemoteFonts(): Plugin {
  const remote = /,\s*url\((?:https?:)?\/\/at\.alicdn\.com\/[^)]*\)\s*format\(["'][a-z0-9]+["']\)/g
  return {
    name: 'bangfu-no-remote-fonts',
    apply: 'build',
    enforce: 'pre',
    // On the source, before Vite hashes the CSS into its file name.
    transform(code, id) {
      if (!/\.css($|\?)/.test(id) || !code.includes('at.alicdn.com')) return null
      return { code: code.replace(remote, ''), map: null }
    },
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle))
        if (file.type === 'asset' && file.fileName.endsWith('.css') &&
            String(file.source).includes('at.alicdn.com'))
          this.error(`${file.fileName}: a remote font is left`)
    },
  }
}

export default defineConfig({
  plugins: [vue(), Components({
    // Vant for the shop; Element Plus (el-*, with each component's CSS) only
    // where the workspaces (src/workspace, lazy routes) use it.
    resolvers: [VantResolver(), ElementPlusResolver({ importStyle: 'css' })],
    dts: false,
  }), noRemoteFonts(), precompress()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2020',
    chunkSizeWarningLimit: 1200,
    // No inline scripts or data: URIs (the CSP allows our own files only).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/sandbox': 'http://127.0.0.1:8080' },
  },
})
