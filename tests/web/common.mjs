// What the browser tests share (run.mjs: the shop; workspace.mjs: the
// workspaces): where things are, the API over fetch, the sandbox secret of
// the instance, and axe-core's serious findings on a page.
import { createRequire } from 'node:module'
import { readFileSync, existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = process.env.BANGFU_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '../..')
export const require = createRequire(join(ROOT, 'assets/package.json'))
export const { chromium } = require('playwright-core')
export const BASE = process.env.BANGFU_URL ?? 'http://127.0.0.1:18080'
export const INSTANCE = process.env.INSTANCE ?? 'test'
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

export async function api(path, { method = 'GET', body, token, headers = {} } = {}) {
  const h = { accept: 'application/json', ...headers }
  if (body !== undefined) h['content-type'] = 'application/json'
  if (token) h.authorization = 'Bearer ' + token
  const r = await fetch(BASE + '/api/v1' + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : null }
}

export function sandboxSecret() {
  if (process.env.PAYMENT_SANDBOX_SECRET) return process.env.PAYMENT_SANDBOX_SECRET
  const f = join(ROOT, 'var', INSTANCE, 'secrets.env')
  const m = existsSync(f) && /^PAYMENT_SANDBOX_SECRET=(.*)$/m.exec(readFileSync(f, 'utf8'))
  if (!m) throw new Error('no PAYMENT_SANDBOX_SECRET in the environment or ' + f)
  return m[1]
}

/** axe-core's serious and critical violations on the page as it stands. */
export async function axeSerious(page) {
  // Through the DevTools protocol: the page's CSP forbids inline scripts.
  await page.evaluate(AXE)
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))
  })
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}
