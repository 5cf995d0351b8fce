// Browser tests of 旅游与康养 (issue 14), run by `scripts/web.sh test`:
// the vendor opens a session and redeems a voucher in 商家中心 (/vendor/
// sessions, 1366x768), and the guest sees the vouchers, code and QR, on
// the order in 我的订单 (390x844).  Bookings and payments go through the
// API.  Screenshots in build/screens/services; axe-core on every page.
import { createHmac } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { ROOT, chromium, BASE, api, sandboxSecret, axeSerious } from './common.mjs'

const SHOTS = process.env.SV_SHOTS_DIR ?? join(ROOT, 'build', 'screens', 'services')
const LAPTOP = { width: 1366, height: 768 }
const PHONE = { width: 390, height: 844 }
mkdirSync(SHOTS, { recursive: true })

async function login(email, password) {
  const r = await api('/auth/login', { method: 'POST', body: { email, password } })
  assert.equal(r.status, 200, 'login ' + email + ': ' + JSON.stringify(r.body))
  return r.body
}
async function citizen() {
  const email = `sv-${Date.now()}-${Math.trunc(Math.random() * 1e6)}@example.com`
  const password = 'sv-test-password-1'
  const r = await api('/auth/register', { method: 'POST', body: { email, password, name: '测试游客', role: 'citizen' } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return login(email, password)
}
const shDay = (n) => new Date(Date.now() + 8 * 3600e3 + n * 86400e3).toISOString().slice(0, 10)

/** A paid booking of n guests in session sid: the booking as the API has it. */
async function paidBooking(t, sid, names) {
  const b = await api('/bookings', { method: 'POST', token: t, body: { session_id: sid, guests: names.map((name, i) => ({ name, phone: '1380013800' + i })) } })
  assert.equal(b.status, 201, JSON.stringify(b.body))
  const pay = await api(`/orders/${b.body.order.id}/payments`, { method: 'POST', token: t, body: { provider: 'sandbox' } })
  assert.equal(pay.status, 201, JSON.stringify(pay.body))
  const raw = JSON.stringify({ payment_id: pay.body.payment_id, status: 'succeeded', amount_fen: pay.body.amount_fen })
  const sig = createHmac('sha256', sandboxSecret()).update(raw).digest('hex')
  const n = await fetch(BASE + '/api/v1/payments/sandbox/notify', { method: 'POST', headers: { 'content-type': 'application/json', 'x-sandbox-signature': sig }, body: raw })
  assert.equal(n.status, 200, await n.text())
  return (await api('/bookings/' + b.body.id, { token: t })).body
}

const axeFindings = []
async function shoot(page, name) {
  await page.waitForLoadState('networkidle').catch(() => {})
  await page.getByRole('alert').filter({ hasText: /\S/ }).and(page.locator('.el-message')).first().waitFor({ state: 'detached', timeout: 8000 }).catch(() => {})
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
  for (const v of await axeSerious(page)) axeFindings.push({ page: name, ...v })
}

let browser
async function pageAs(tokens, viewport) {
  const ctx = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', extraHTTPHeaders: { 'x-forwarded-for': '10.77.0.3' } })
  const page = await ctx.newPage()
  page.on('pageerror', (e) => console.error('  page error:', e.message))
  await page.goto(BASE + '/robots.txt')
  await page.evaluate((t) => localStorage.setItem('bangfu.auth', JSON.stringify(t)), tokens)
  return page
}

const tests = {}
const state = {}

tests.vendorSessions = async () => {
  // The demo vendor's service (普洱 景迈山茶园研学): open a session, change its places.
  const vt = await login('vendor@demo.bangfu.cn', 'bangfu-demo-vendor')
  const page = await pageAs(vt, LAPTOP)
  await page.goto(BASE + '/vendor/sessions')
  await page.getByRole('heading', { name: '服务场次' }).waitFor()
  await page.getByRole('combobox', { name: '服务' }).waitFor()
  // The demo sessions of the first service are listed.
  await page.getByRole('cell', { name: /^\d{4}-\d{2}-\d{2}$/ }).first().waitFor()
  const date = shDay(45)
  // Element Plus's date picker: its input is found by its placeholder.
  await page.getByPlaceholder('出发或入住日期').fill(date)
  await page.getByPlaceholder('出发或入住日期').press('Enter')
  await page.getByRole('spinbutton', { name: '名额', exact: true }).fill('9')
  await page.getByRole('textbox', { name: '场次价（元）' }).fill('1180')
  await page.getByRole('button', { name: '开放场次' }).click()
  const row = page.getByRole('row').filter({ hasText: date }).filter({ hasText: '¥1,180.00' })
  await row.first().waitFor()
  await shoot(page, 'vendor-sessions')
  state.vendor = { vt, page }
}

tests.redeem = async () => {
  assert.ok(state.vendor, 'needs vendorSessions')
  const { vt, page } = state.vendor
  // A session today (bookings open for the next half hour) and a paid booking of two.
  const pid = (await api('/vendor/products?per_page=100', { token: vt.access_token })).body.items.find((l) => l.kind === 'service').id
  const until = new Date(Math.min(Date.now() + 30 * 60e3, Date.parse(shDay(0) + 'T23:59:00+08:00'))).toISOString().replace(/\.\d+Z$/, 'Z')
  const s = await api(`/vendor/products/${pid}/sessions`, { method: 'POST', token: vt.access_token, body: { date: shDay(0), capacity: 4, book_until: until } })
  assert.equal(s.status, 201, JSON.stringify(s.body))
  const ct = await citizen()
  const b = await paidBooking(ct.access_token, s.body.id, ['李雷', '韩梅梅'])
  assert.equal(b.vouchers.length, 2)
  state.guest = { ct, b }
  const code = b.vouchers[0].code
  await page.getByRole('textbox', { name: '券码' }).fill(code.toLowerCase())
  await page.getByRole('button', { name: '核销' }).click()
  await page.getByText('核销成功：李雷').waitFor()
  await shoot(page, 'vendor-redeem-ok')
  await page.getByRole('textbox', { name: '券码' }).fill(code)
  await page.getByRole('button', { name: '核销' }).click()
  await page.getByText('这张凭证已经核销过了').waitFor()
  await shoot(page, 'vendor-redeem-used')
  await page.context().close()
}

tests.guestVouchers = async () => {
  assert.ok(state.guest, 'needs redeem')
  const { ct, b } = state.guest
  const page = await pageAs(ct, PHONE)
  await page.goto(BASE + '/orders/' + b.order.id)
  await page.getByRole('heading', { name: /电子凭证/ }).waitFor()
  for (const v of b.vouchers) await page.getByText(v.code, { exact: true }).waitFor()
  await page.getByRole('img', { name: '凭证二维码 韩梅梅' }).waitFor()
  await page.getByText('已使用').first().waitFor()
  const svg = await page.getByRole('img', { name: '凭证二维码 韩梅梅' }).locator('svg').count()
  assert.equal(svg, 1, 'the QR is drawn as SVG')
  await shoot(page, 'guest-vouchers')
  await page.context().close()
}

const only = process.argv.slice(2)
browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
let failed = 0
let passed = 0
for (const [name, fn] of Object.entries(tests)) {
  if (only.length && !only.includes(name)) continue
  const t0 = Date.now()
  try {
    await fn()
    passed++
    console.log(`web-sv: ok   ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    failed++
    console.log(`web-sv: FAIL ${name}: ${e.message}`)
    for (const ctx of browser.contexts()) for (const p of ctx.pages()) {
      await p.screenshot({ path: join(SHOTS, `FAIL-${name}.png`), fullPage: true }).catch(() => {})
      console.log(`  at ${p.url()}`)
    }
  }
}
await browser.close()
if (axeFindings.length) {
  console.log(`web-sv: axe: ${axeFindings.length} serious or critical finding(s):`)
  for (const f of axeFindings) console.log(`  ${f.page}: ${f.impact} ${f.id} (${f.help}) ${f.nodes.join(', ')}`)
  failed++
} else {
  console.log('web-sv: axe: no serious or critical violation on any page')
}
console.log(`web-sv: ${passed} passed, ${failed} failed; screenshots in ${SHOTS}`)
process.exit(failed ? 1 : 0)
