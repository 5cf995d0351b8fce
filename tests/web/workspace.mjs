// Browser tests of the workspaces (工作台: /vendor, /admin, /org), run by
// `scripts/web.sh test` after the shop's (run.mjs), against BANGFU_URL in
// Debian's Chromium through playwright-core, at a laptop size (1366x768).
// Screenshots go to build/screens/workspace (git-ignored); axe-core runs
// on every page.  `node tests/web/workspace.mjs vendor` runs some.
import { createHmac } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { ROOT, chromium, BASE, api, sandboxSecret, axeSerious } from './common.mjs'

const SHOTS = process.env.WS_SHOTS_DIR ?? join(ROOT, 'build', 'screens', 'workspace')
const LAPTOP = { width: 1366, height: 768 }
mkdirSync(SHOTS, { recursive: true })

async function login(email, password) {
  const r = await api('/auth/login', { method: 'POST', body: { email, password } })
  assert.equal(r.status, 200, 'login ' + email + ': ' + JSON.stringify(r.body))
  return r.body
}
async function register(role) {
  const email = `ws-${role}-${Date.now()}-${Math.trunc(Math.random() * 1e6)}@example.com`
  const password = 'ws-test-password-1'
  const r = await api('/auth/register', { method: 'POST', body: { email, password, name: role === 'vendor' ? '测试商家' : '测试市民', role } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return { email, password }
}
// The GB 32100 check character (as assets/src/workspace/creditcode.ts).
const ALPHA = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
function creditCode() {
  let s = '93'
  while (s.length < 17) s += ALPHA[Math.trunc(Math.random() * 31)]
  let sum = 0
  for (let i = 0; i < 17; i++) sum += ALPHA.indexOf(s[i]) * W[i]
  return s + ALPHA[(31 - (sum % 31)) % 31]
}

/** Picks an option of an Element Plus select, found by its label. */
async function pick(page, name, option) {
  const box = page.getByRole('combobox', { name })
  await page.waitForFunction((el) => !el.disabled, await box.elementHandle()) // its options may still be loading
  // The select's box takes the click (its placeholder covers the input).
  await box.locator('xpath=ancestor::div[contains(@class, "el-select__wrapper")]').click()
  const listbox = page.locator('#' + (await box.getAttribute('aria-controls')))
  const opt = listbox.getByRole('option').filter({ hasText: option }).first()
  await opt.waitFor()
  await opt.click()
  await listbox.waitFor({ state: 'hidden' })
}

const axeFindings = []
const shots = []
async function shoot(page, name) {
  await page.waitForLoadState('networkidle').catch(() => {})
  // Element Plus's messages fade out (an axe run mid-fade sees faint text).
  await page.getByRole('alert').filter({ hasText: /\S/ }).first().waitFor({ state: 'detached', timeout: 8000 }).catch(() => {})
  const path = join(SHOTS, `${name}.png`)
  await page.screenshot({ path })
  shots.push(path)
  for (const v of await axeSerious(page)) axeFindings.push({ page: name, ...v })
}

let browser
async function pageAs(tokens) {
  const ctx = await browser.newContext({ viewport: LAPTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', extraHTTPHeaders: { 'x-forwarded-for': '10.77.0.2' } })
  const page = await ctx.newPage()
  page.on('pageerror', (e) => console.error('  page error:', e.message))
  if (tokens) {
    await page.goto(BASE + '/robots.txt')
    await page.evaluate((t) => localStorage.setItem('bangfu.auth', JSON.stringify(t)), tokens)
  }
  return page
}

const tests = {}
const notes = []
const state = {}

tests.forbidden = async () => {
  // Signed out: /admin asks to sign in, then comes back; a citizen sees 无权访问 and no 运营后台 in the menu.
  const page = await pageAs(null)
  await page.goto(BASE + '/admin')
  await page.waitForURL(/\/login\?redirect=(%2F|\/)admin/)
  const c = await register('citizen')
  await page.getByRole('textbox', { name: '邮箱' }).fill(c.email)
  await page.getByRole('textbox', { name: '密码' }).fill(c.password)
  await page.getByRole('button', { name: '登录', exact: true }).click()
  await page.waitForURL((u) => u.pathname === '/admin')
  await page.getByText('无权访问', { exact: true }).waitFor()
  await page.getByRole('button', { name: '返回商城首页' }).waitFor()
  const nav = page.getByRole('navigation', { name: '工作台导航' })
  assert.equal(await nav.getByText('运营后台').count(), 0, 'no 运营后台 for a citizen')
  assert.equal(await nav.getByText('商家中心').count(), 0, 'no 商家中心 for a citizen')
  await nav.getByText('企业采购').waitFor()
  await shoot(page, 'admin-forbidden-citizen')
  await page.goto(BASE + '/vendor/products')
  await page.getByText('无权访问', { exact: true }).waitFor()
  await page.context().close()
}

tests.shopBundle = async () => {
  // The shop's first view loads no Element Plus.
  const page = await pageAs(null)
  const js = new Set()
  page.on('response', (r) => { if (/\.(js|css)$/.test(r.url())) js.add(new URL(r.url()).pathname) })
  await page.goto(BASE + '/')
  await page.getByRole('heading', { name: '当季推荐' }).waitFor()
  await page.waitForLoadState('networkidle')
  for (const p of js) {
    const t = await (await fetch(BASE + p)).text()
    assert.ok(!t.includes('ElConfigProvider') && !t.includes('.el-button'), `the shop's ${p} carries Element Plus`)
  }
  notes.push(`shop first view: ${js.size} scripts and styles, none with Element Plus`)
  await page.context().close()
}

tests.vendor = async () => {
  const t0 = Date.now()
  const v = await register('vendor')
  const vt = await login(v.email, v.password)
  const page = await pageAs(vt)

  // 入驻: the credit code checked as typed
  await page.goto(BASE + '/vendor')
  await page.getByText('申请入驻').waitFor()
  const code = creditCode()
  const wrong = code.slice(0, 17) + ALPHA[(ALPHA.indexOf(code[17]) + 1) % 31]
  const name = '测试县高山茶合作社' + Date.now() % 100000
  await page.getByRole('textbox', { name: '商家名称' }).fill(name)
  await page.getByRole('textbox', { name: '统一社会信用代码' }).fill(wrong.slice(0, 10))
  await page.getByText('还差 8 位（共 18 位）').waitFor()
  await page.getByRole('textbox', { name: '统一社会信用代码' }).fill(wrong)
  await page.getByText(`校验位不符：第 18 位应为 ${code[17]}`).waitFor()
  await shoot(page, 'vendor-apply-bad-code')
  await page.getByRole('textbox', { name: '统一社会信用代码' }).fill(code)
  assert.equal(await page.getByText('校验位不符').count(), 0)
  await pick(page, '所在地区', '云南')
  await pick(page, '所在县', /脱贫县/)
  await page.getByRole('textbox', { name: '商家介绍' }).fill('高山生态茶园，带动脱贫户种茶。')
  await page.getByRole('button', { name: '提交入驻申请' }).click()
  await page.getByText('入驻申请审核中').waitFor()
  await shoot(page, 'vendor-pending')

  // a draft before approval; publishing it is refused with a plain message
  await page.getByRole('link', { name: '商品管理' }).click()
  await page.getByRole('button', { name: '新建商品' }).click()
  const title = '高山绿茶 250g 礼盒 ' + (Date.now() % 100000)
  await page.getByRole('textbox', { name: '商品名称' }).fill(title)
  await pick(page, '类目', '茶叶')
  await page.getByRole('textbox', { name: '单位' }).fill('盒')
  await page.getByRole('textbox', { name: '价格（元）' }).fill('88.50')
  await page.getByRole('button', { name: '创建草稿' }).click()
  await page.waitForURL(/\/vendor\/products\/\d+$/)
  const pid = Number(new URL(page.url()).pathname.split('/').pop())
  await page.getByRole('heading', { level: 1, name: new RegExp(title) }).waitFor()
  await page.getByRole('button', { name: '发布上架' }).click()
  await page.getByText('商家尚未通过审核，暂不能发布商品').waitFor()
  state.vendor = { ...v, name, pid, title, page, token: vt.access_token }
  notes.push(`vendor apply and draft: ${Date.now() - t0} ms`)
}

tests.review = async () => {
  // The operator approves the vendor in /admin.
  assert.ok(state.vendor, 'needs the vendor test')
  const at = await login('admin@demo.bangfu.cn', 'bangfu-demo-admin')
  const page = await pageAs(at)
  await page.goto(BASE + '/admin')
  await page.getByRole('heading', { name: '商家审核' }).waitFor()
  // The queue is oldest first: page on until the new application shows.
  const cell = page.getByRole('cell', { name: state.vendor.name, exact: true })
  await page.getByText(/共 \d+ 条/).waitFor()
  for (let i = 0; i < 50 && (await cell.count()) === 0; i++) {
    const shown = await page.getByRole('row').nth(1).textContent()
    await page.getByRole('button', { name: /下一页/ }).click()
    await page.waitForFunction((t) => document.querySelectorAll('tbody tr')[0]?.textContent !== t, shown)
  }
  await cell.waitFor()
  await shoot(page, 'admin-review-queue')
  await page.getByRole('button', { name: '通过 ' + state.vendor.name }).click()
  await page.getByRole('dialog', { name: /通过入驻/ }).waitFor()
  await shoot(page, 'admin-review-approve')
  await page.getByRole('button', { name: '确认通过' }).click()
  await page.getByText('已通过：' + state.vendor.name).waitFor()
  await page.getByRole('cell', { name: state.vendor.name, exact: true }).waitFor({ state: 'detached' })
  const vid = (await api('/me', { token: state.vendor.token })).body.vendor_id
  const pubv = await api('/vendors/' + vid)
  assert.equal(pubv.status, 200, 'the approved vendor is public')
  assert.equal(pubv.body.qualified, true)
  await page.goto(BASE + '/admin/ledger')
  await page.getByRole('heading', { name: /帮扶销售额是多少/ }).waitFor()
  await shoot(page, 'admin-ledger')
  // the page's CSV download is the API's, BOM included
  const dl = page.waitForEvent('download')
  await page.getByRole('button', { name: '导出 CSV' }).click()
  const file = await (await dl).path()
  const got = readFileSync(file)
  assert.deepEqual([...got.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV starts with the UTF-8 BOM')
  const year = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 4)
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10)
  const r = await fetch(`${BASE}/api/v1/admin/ledger?from=${year}-01-01&to=${today}&group_by=region`, { headers: { accept: 'text/csv', authorization: 'Bearer ' + at.access_token } })
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(got), "the downloaded CSV equals the API's")
  await page.context().close()
}

tests.listing = async () => {
  assert.ok(state.vendor, 'needs the vendor test')
  const { page, pid, title } = state.vendor
  await page.goto(BASE + '/vendor')
  await page.getByText(/合格扶贫企业，有效期至 \d{4}-\d{2}-\d{2}/).waitFor()
  await shoot(page, 'vendor-qualified')
  await page.goto(BASE + '/vendor/products/' + pid)
  await page.getByRole('heading', { level: 1, name: new RegExp(title) }).waitFor()
  // a price tier and an expiring certification
  await page.getByRole('button', { name: '添加一档' }).click()
  await page.getByRole('spinbutton', { name: '第 1 档起订数量' }).fill('10')
  await page.getByRole('textbox', { name: '第 1 档单价（元）' }).fill('79.00')
  await page.getByRole('button', { name: '添加认证' }).click()
  await page.getByRole('textbox', { name: '第 1 项证书编号' }).fill('LB-45-2612345678')
  const soon = new Date(Date.now() + 8 * 3600e3 + 10 * 86400e3).toISOString().slice(0, 10)
  await page.getByRole('combobox', { name: '第 1 项有效期至' }).fill(soon)
  await page.getByRole('combobox', { name: '第 1 项有效期至' }).press('Enter')
  await page.getByText('30 天内到期', { exact: true }).waitFor()
  await page.getByText('有 1 项认证已过期或 30 天内到期').waitFor()
  await page.getByRole('button', { name: '保存', exact: true }).click()
  await page.getByText('已保存').first().waitFor()
  // stock +50, then a batch
  await page.getByRole('spinbutton', { name: '增减数量' }).fill('50')
  await page.getByRole('button', { name: '更新库存' }).click()
  await page.getByText('库存现为 50').waitFor()
  await page.getByRole('textbox', { name: '批次号' }).fill('B-WS-01')
  await page.getByRole('textbox', { name: '生产基地' }).fill('景迈山芒景村茶园')
  await page.getByRole('button', { name: '添加批次' }).click()
  const traceText = await page.getByText(/新批次的溯源码：/).textContent()
  const trace = /：(\S+)/.exec(traceText)[1]
  await page.getByRole('button', { name: '发布上架' }).click()
  await page.getByText('已上架，市民可以看到了').waitFor()
  await shoot(page, 'vendor-product-edit')
  const pub = await api('/products/' + pid)
  assert.equal(pub.status, 200)
  assert.equal(pub.body.stock, 50)
  assert.ok(pub.body.price_tiers.some((t) => t.min_qty === 10 && t.unit_price_fen === 7900), JSON.stringify(pub.body.price_tiers))
  assert.ok(pub.body.batches.some((b) => b.trace_code === trace))
  await page.goto(BASE + '/vendor/products')
  await page.getByRole('cell', { name: title, exact: true }).waitFor()
  await shoot(page, 'vendor-products')

  // 打印溯源标签: an A4 PDF whose links open /t/{code}
  await page.goto(BASE + '/vendor/products/' + pid)
  await page.getByRole('button', { name: '打印溯源标签' }).click()
  await page.waitForURL(/\/labels$/)
  await page.getByRole('img', { name: '溯源二维码 ' + trace }).first().waitFor()
  await shoot(page, 'vendor-labels')
  await page.emulateMedia({ media: 'print' })
  const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true })
  await page.emulateMedia({ media: 'screen' })
  writeFileSync(join(SHOTS, 'vendor-labels.pdf'), pdf)
  const s = pdf.toString('latin1')
  const pages = (s.match(/\/Type\s*\/Page[^s]/g) ?? []).length
  assert.equal(pages, 1, '24 labels on one A4 page')
  const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(s)
  assert.ok(box && Math.abs(Number(box[1]) - 595.92) < 2 && Math.abs(Number(box[2]) - 842.88) < 2, 'A4: ' + (box && box[0]))
  const links = s.match(new RegExp('/URI\\s*\\(' + BASE.replace(/[.]/g, '\\.') + '/t/' + trace + '\\)', 'g')) ?? []
  assert.equal(links.length, 24, 'every label links /t/' + trace)
  state.vendor.trace = trace
}

tests.ship = async () => {
  // A citizen buys through the API; the vendor ships; the statement shows the line with its fee rule.
  assert.ok(state.vendor?.trace, 'needs the listing test')
  const { page, pid, title } = state.vendor
  const c = await register('citizen')
  const ct = (await login(c.email, c.password)).access_token
  assert.equal((await api('/cart/items/' + pid, { method: 'PUT', token: ct, body: { qty: 2 } })).status, 200)
  const o = await api('/orders', { method: 'POST', token: ct, headers: { 'idempotency-key': 'ws-' + Date.now() }, body: { address: { name: '王芳', phone: '13800138000', province: '上海市', city: '上海市', district: '徐汇区', line: '漕溪北路 1 号' }, note: '' } })
  assert.equal(o.status, 201, JSON.stringify(o.body))
  const pay = await api(`/orders/${o.body.id}/payments`, { method: 'POST', token: ct, headers: { 'idempotency-key': 'wsp-' + Date.now() }, body: { provider: 'sandbox' } })
  assert.equal(pay.status, 201, JSON.stringify(pay.body))
  const raw = JSON.stringify({ payment_id: pay.body.payment_id, status: 'succeeded', amount_fen: o.body.total_fen })
  const sig = createHmac('sha256', sandboxSecret()).update(raw).digest('hex')
  const n = await fetch(BASE + '/api/v1/payments/sandbox/notify', { method: 'POST', headers: { 'content-type': 'application/json', 'x-sandbox-signature': sig }, body: raw })
  assert.equal(n.status, 200, await n.text())

  await page.goto(BASE + '/vendor/orders')
  await page.getByRole('cell', { name: o.body.order_no, exact: true }).waitFor()
  await shoot(page, 'vendor-orders')
  await page.getByRole('button', { name: '发货 ' + o.body.order_no }).click()
  await pick(page, '承运商', '顺丰速运')
  await page.getByRole('textbox', { name: '运单号' }).fill('SF1234567890')
  await shoot(page, 'vendor-ship-form')
  // The tab 已发货 is always on the page: wait for the ship's answer itself.
  const shipped = page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/v1\/vendor\/orders\/\d+\/ship$/.test(r.url()))
  await page.getByRole('button', { name: '确认发货' }).click()
  assert.equal((await shipped).status(), 200)
  const mine = (await api('/orders/' + o.body.id, { token: ct })).body
  assert.equal(mine.parts[0].status, 'shipped')

  await page.goto(BASE + '/vendor/statement')
  const line = page.getByRole('row').filter({ hasText: o.body.order_no })
  await line.waitFor()
  const st = o.body.parts[0].items[0]
  const rowText = await line.textContent()
  const yuan = (f) => '¥' + Math.trunc(f / 100).toLocaleString('en') + '.' + String(f % 100).padStart(2, '0')
  assert.ok(rowText.includes(title) && rowText.includes(yuan(st.line_total_fen)) && rowText.includes(yuan(st.fee_fen)) && rowText.includes(yuan(st.fee_waived_fen)), rowText)
  const rules = (await api('/admin/fee-rules', { token: (await login('admin@demo.bangfu.cn', 'bangfu-demo-admin')).access_token })).body
  const rule = (rules.items ?? rules).find((r) => r.id === st.fee_rule_id)
  if (rule) assert.ok(rowText.includes(rule.name), 'the line names its fee rule ' + rule.name)
  await page.getByRole('heading', { name: '每月卖了多少？' }).waitFor()
  await page.getByRole('img', { name: '每月销售额（元）' }).waitFor()
  await shoot(page, 'vendor-statement')
  await page.context().close()
}

tests.org = async () => {
  const t = await login('buyer@demo.bangfu.cn', 'bangfu-demo-buyer')
  const page = await pageAs(t)
  await page.goto(BASE + '/org')
  await page.getByText('成员与角色').waitFor()
  await page.getByText('成员由组织管理员邀请。').waitFor()
  await shoot(page, 'org-buyer')
  await page.context().close()
  const a = await login('admin@demo.bangfu.cn', 'bangfu-demo-admin')
  const p2 = await pageAs(a)
  await p2.goto(BASE + '/org')
  await p2.getByRole('button', { name: '发送邀请' }).waitFor()
  await p2.getByRole('textbox', { name: '邀请邮箱' }).fill(`ws-invitee-${Date.now()}@example.com`)
  const answer = p2.waitForResponse((r) => /\/orgs\/\d+\/members$/.test(r.url()) && r.request().method() === 'POST')
  await p2.getByRole('button', { name: '发送邀请' }).click()
  const st = (await answer).status()
  notes.push(`POST /orgs/{id}/members answered ${st} (API.md: 202 invited)`)
  if (st === 202) await p2.getByText(/邀请已发出/).waitFor()
  await shoot(p2, 'org-admin')
  await p2.context().close()
}

// ------------------------------------------------------------ runner

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
    console.log(`web-ws: ok   ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    failed++
    console.log(`web-ws: FAIL ${name}: ${e.message}`)
    for (const ctx of browser.contexts()) for (const p of ctx.pages()) {
      await p.screenshot({ path: join(SHOTS, `FAIL-${name}.png`), fullPage: true }).catch(() => {})
      console.log(`  at ${p.url()}`)
    }
  }
}
await browser.close()
for (const n of notes) console.log('web-ws: note: ' + n)
if (axeFindings.length) {
  console.log(`web-ws: axe: ${axeFindings.length} serious or critical finding(s):`)
  for (const f of axeFindings) console.log(`  ${f.page}: ${f.impact} ${f.id} (${f.help}) ${f.nodes.join(', ')}`)
  failed++
} else {
  console.log('web-ws: axe: no serious or critical violation on any page')
}
console.log(`web-ws: ${passed} passed, ${failed} failed; screenshots in ${SHOTS}`)
process.exit(failed ? 1 : 0)
