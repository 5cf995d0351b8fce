// 帮扶商城: Vite build of the shop into ../build/web, served by Kore at /
// (app/http_static.c).  Vant is imported per component; every route is its
// own chunk; the build writes .gz and .br copies beside each file for Kore.
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import subsetFont from 'subset-font'
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

// Vant's icon font (25 kB of woff2, 259 icons) comes as a data: URL inside
// its CSS: 34 kB of base64 in the stylesheet that blocks the first paint of
// every page.  The build keeps only the icons the app can ask for and serves
// them as a file of their own (hashed, fetched only when an icon is drawn).
// The icons that can be asked for: every quoted word of our sources and of
// Vant's components that is an icon's name (Vant names its icons in string
// literals: "arrow-left", "success", props' defaults), and all the arrows
// (the cell builds `arrow-${direction}`).  Too many is harmless; a missing
// one would draw nothing, so the sources are read whole, not the bundle.
function vantIconFile(): Plugin {
  const require = createRequire(import.meta.url)
  const cssPath = require.resolve('vant/es/icon/index.css')
  const vantDir = dirname(dirname(cssPath))
  const font = /url\(["']?data:font\/woff2;[^,]*,([A-Za-z0-9+/=]+)["']?\)/
  const fontFile = join(__dirname, 'node_modules/.cache/bangfu/vant-icon.woff2')
  const walk = (dir: string, ext: RegExp, out: string[] = []): string[] => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p, ext, out)
      else if (ext.test(name)) out.push(p)
    }
    return out
  }
  return {
    name: 'bangfu-vant-icon-file',
    apply: 'build',
    enforce: 'pre',
    async buildStart() {
      const css = readFileSync(cssPath, 'utf8')
      const m = font.exec(css)
      if (!m) this.error(`${cssPath}: no inlined woff2 (has Vant changed?)`)
      const glyphs = new Map<string, string>()
      for (const g of css.matchAll(/\.van-icon-([a-z0-9-]+):before\s*\{\s*content:\s*"\\([0-9a-f]+)"/g))
        glyphs.set(g[1], String.fromCodePoint(parseInt(g[2], 16)))
      const used = new Set([...glyphs.keys()].filter((n) => n.startsWith('arrow')))
      const files = [...walk(join(__dirname, 'src'), /\.(vue|ts)$/), ...walk(vantDir, /\.mjs$/)]
      for (const f of files)
        for (const w of readFileSync(f, 'utf8').matchAll(/["'`\s](?:van-icon-)?([a-z0-9-]+)/g))
          if (glyphs.has(w[1])) used.add(w[1])
      const text = [...used].map((n) => glyphs.get(n)).join('')
      const sub = await subsetFont(Buffer.from(m![1], 'base64'), text, { targetFormat: 'woff2' })
      mkdirSync(dirname(fontFile), { recursive: true })
      writeFileSync(fontFile, sub)
      this.info(`vant-icon: ${used.size} of ${glyphs.size} icons, ${sub.length} bytes`)
    },
    // On the source, before Vite resolves its url()s and hashes the CSS.
    transform(code, id) {
      if (id.split('?')[0] !== cssPath) return null
      const rel = relative(dirname(cssPath), fontFile).split('\\').join('/')
      return { code: code.replace(font, `url("${rel}")`), map: null }
    },
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle))
        if (file.type === 'asset' && file.fileName.endsWith('.css') &&
            String(file.source).includes('data:font/'))
          this.error(`${file.fileName}: an inlined font is left`)
    },
  }
}

export default defineConfig({
  plugins: [vue(), Components({
    // Vant for the shop; Element Plus (el-*, with each component's CSS) only
    // where the workspaces (src/workspace, lazy routes) use it.
    resolvers: [VantResolver(), ElementPlusResolver({ importStyle: 'css' })],
    dts: false,
  }), noRemoteFonts(), vantIconFile(), precompress()],
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
