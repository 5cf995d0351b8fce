// Browser tests of 运营后台 (/admin) beyond the review queue, and of the
// vendor's own record in 商家中心: run by `scripts/web.sh test` after
// workspace.mjs, against BANGFU_URL in Debian's Chromium (playwright-core),
// at 1440x900.  The operator journey of issue 13: a fee-rule change shows in
// the next order's statement line; the ledger CSV downloaded from the page
// is the API's, BOM first; a citizen who opens /admin sees 无权访问.  Also:
// a boost rule and a campaign show in the channel preview; 百县百品 by
// county; credit events recorded and listed; the vendor sees its review
// status (pending, rejected with the reason, approved) and credit history.
// Screenshots go to build/screens/ws_admin (git-ignored); axe-core runs on
// every page.  `node tests/web/ws_admin.mjs feeRule` runs some.
import { createHmac } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { ROOT, chromium, BASE, api, sandboxSecret, axeSerious } from './common.mjs'

const SHOTS = process.env.WS_ADMIN_SHOTS_DIR ?? join(ROOT, 'build', 'screens', 'ws_admin')
const DESK = { width: 1440, height: 900 }
mkdirSync(SHOTS, { recursive: true })
const TAG = String(Date.now() % 1000000)

async function login(email, password) {
  const r = await api('/auth/login', { method: 'POST', body: { email, password } })
  assert.equal(r.status, 200, 'login ' + email + ': ' + JSON.stringify(r.body))
  return r.body
}
async function register(role, name) {
  const email = `wsa-${role}-${Date.now()}-${Math.trunc(Math.random() * 1e6)}@example.com`
  const password = 'ws-test-password-1'
  const r = await api('/auth/register', { method: 'POST', body: { email, password, name: name ?? (role === 'vendor' ? '测试商家' : '测试市民'), role } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return { email, password, ...(await login(email, password)) }
}
// The GB 32100 check character (as assets/src/workspace/creditcode.ts).
const ALPHA = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
function creditCode() {
  let s = '92'
  while (s.length < 17) s += ALPHA[Math.trunc(Math.random() * 31)]
  let sum = 0
  for (let i = 0; i < 17; i++) sum += ALPHA.indexOf(s[i]) * W[i]
  return s + ALPHA[(31 - (sum % 31)) % 31]
}
const yuan = (f) => '¥' + Math.trunc(f / 100).toLocaleString('en') + '.' + String(f % 100).padStart(2, '0')

/** Picks an option of an Element Plus select, found by its label. */
async function pick(page, name, option, scope = page) {
  const box = scope.getByRole('combobox', { name })
  await page.waitForFunction((el) => !el.disabled, await box.elementHandle())
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
  await page.locator('.el-message').first().waitFor({ state: 'detached', timeout: 8000 }).catch(() => {})
  const path = join(SHOTS, `${name}.png`)
  await page.screenshot({ path })
  shots.push(path)
  for (const v of await axeSerious(page)) axeFindings.push({ page: name, ...v })
}

let browser
async function pageAs(tokens) {
  const ctx = await browser.newContext({ viewport: DESK, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true, extraHTTPHeaders: { 'x-forwarded-for': '10.77.0.3' } })
  const page = await ctx.newPage()
  page.on('pageerror', (e) => console.error('  page error:', e.message))
  if (tokens) {
    await page.goto(BASE + '/robots.txt')
    await page.evaluate((t) => localStorage.setItem('bangfu.auth', JSON.stringify(t)), tokens)
  }
  return page
}

/** Goes to the last page of the table's pager (the queues are oldest first). */
async function lastPage(page) {
  // The list's rows first: until its answer is drawn, the pager may still
  // say 共 0 条 (once read so, page 1 was searched for a row on page 3).
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length > 0 &&
    /共 [1-9]\d* 条/.test(document.body.innerText))
  const total = Number(/共 (\d+) 条/.exec(await page.getByText(/共 \d+ 条/).textContent())[1])
  const last = Math.max(1, Math.ceil(total / 20))
  if (last > 1) {
    const shown = await page.getByRole('row').nth(1).textContent()
    await page.getByLabel(`第 ${last} 页`, { exact: true }).click()
    await page.waitForFunction((t) => document.querySelectorAll('tbody tr')[0]?.textContent !== t, shown)
  }
}

/** A citizen buys qty of a product through the API and pays in the sandbox; the order. */
async function buy(pid, qty) {
  const c = await register('citizen')
  const ct = c.access_token
  assert.equal((await api('/cart/items/' + pid, { method: 'PUT', token: ct, body: { qty } })).status, 200)
  const o = await api('/orders', { method: 'POST', token: ct, headers: { 'idempotency-key': 'wsa-' + Date.now() + Math.random() }, body: { address: { name: '李雷', phone: '13900139000', province: '上海市', city: '上海市', district: '静安区', line: '南京西路 2 号' }, note: '' } })
  assert.equal(o.status, 201, JSON.stringify(o.body))
  const pay = await api(`/orders/${o.body.id}/payments`, { method: 'POST', token: ct, headers: { 'idempotency-key': 'wsap-' + Date.now() + Math.random() }, body: { provider: 'sandbox' } })
  assert.equal(pay.status, 201, JSON.stringify(pay.body))
  const raw = JSON.stringify({ payment_id: pay.body.payment_id, status: 'succeeded', amount_fen: o.body.total_fen })
  const sig = createHmac('sha256', sandboxSecret()).update(raw).digest('hex')
  const n = await fetch(BASE + '/api/v1/payments/sandbox/notify', { method: 'POST', headers: { 'content-type': 'application/json', 'x-sandbox-signature': sig }, body: raw })
  assert.equal(n.status, 200, await n.text())
  return o.body
}

const tests = {}
const notes = []
const S = {} // what the tests share: tokens, the vendors, the product
const cleanups = []

tests.setup = async () => {
  // The operator; vendor A (individual, approved, a listed 文创 product in a
  // poverty county without 百县百品); vendor R (pending, to be rejected).
  S.admin = await login('admin@demo.bangfu.cn', 'bangfu-demo-admin')
  const at = S.admin.access_token
  const shop = (await api('/regions/yunnan/shop')).body
  const taken = new Set((await api('/products?label=bxbp&region=yunnan&per_page=100')).body.items.map((p) => p.county.code))
  const county = shop.region.counties.find((c) => c.is_poverty_county && !taken.has(c.code)) ?? shop.region.counties.find((c) => c.is_poverty_county)
  S.county = county
  const a = await register('vendor', '网页测试商家A')
  const an = '彝乡手工竹编社 ' + TAG
  let r = await api('/vendors', { method: 'POST', token: a.access_token, body: { name: an, kind: 'individual', county_code: county.code, credit_code: creditCode(), poor_households_linked: 12, description: '竹编手工艺，带动脱贫户。' } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  S.a = { ...a, name: an, vid: r.body.id }
  const until = new Date(Date.now() + 8 * 3600e3 + 300 * 86400e3).toISOString().slice(0, 10)
  r = await api(`/admin/vendors/${S.a.vid}/review`, { method: 'POST', token: at, body: { decision: 'approve', qualified_until: until } })
  assert.equal(r.status, 200, JSON.stringify(r.body))
  S.a.until = until
  const title = '手工竹编果篮 ' + TAG
  r = await api('/vendor/products', { method: 'POST', token: a.access_token, body: { title, description: '本地毛竹手工编织。', category: 'craft', kind: 'goods', unit: '个', price_fen: 10000, stock: 200 } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  S.pid = r.body.id
  S.title = title
  r = await api(`/vendor/products/${S.pid}/publish`, { method: 'POST', token: a.access_token })
  assert.equal(r.status, 200, JSON.stringify(r.body))

  const v = await register('vendor', '网页测试商家R')
  const rn = '待审核茶叶合作社 ' + TAG
  r = await api('/vendors', { method: 'POST', token: v.access_token, body: { name: rn, kind: 'cooperative', county_code: county.code, credit_code: creditCode(), poor_households_linked: 3, description: '待审核。' } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  S.r = { ...v, name: rn, vid: r.body.id }
}

tests.forbidden = async () => {
  // A citizen who opens /admin (and a page under it) sees 无权访问, and no 运营后台 in the menu.
  const c = await register('citizen')
  const page = await pageAs(c)
  for (const path of ['/admin', '/admin/fee-rules', '/admin/boost']) {
    await page.goto(BASE + path)
    await page.getByText('无权访问', { exact: true }).waitFor()
    await page.getByRole('button', { name: '返回商城首页' }).waitFor()
  }
  const nav = page.getByRole('navigation', { name: '工作台导航' })
  assert.equal(await nav.getByText('运营后台').count(), 0, 'no 运营后台 for a citizen')
  assert.equal(await nav.getByText('计费规则').count(), 0)
  await shoot(page, 'admin-forbidden')
  await page.context().close()
}

tests.vendorPending = async () => {
  // The vendor sees its application pending, then rejected with the operator's reason.
  const vp = await pageAs(S.r)
  await vp.goto(BASE + '/vendor')
  await vp.getByText('入驻申请审核中').waitFor()
  await vp.getByText(S.r.name, { exact: true }).waitFor()
  await shoot(vp, 'vendor-status-pending')

  const page = await pageAs(S.admin)
  await page.goto(BASE + '/admin')
  await page.getByRole('heading', { name: '商家审核' }).waitFor()
  await lastPage(page)
  await page.getByRole('cell', { name: S.r.name, exact: true }).waitFor()
  await page.getByRole('button', { name: '驳回 ' + S.r.name }).click()
  const dlg = page.getByRole('dialog', { name: /驳回入驻/ })
  await dlg.getByRole('button', { name: '确认驳回' }).click()
  await dlg.getByText('请填写驳回原因，商家会看到').waitFor()
  const reason = '营业执照照片不清晰，请重新上传 ' + TAG
  await dlg.getByRole('textbox', { name: '驳回原因' }).fill(reason)
  await shoot(page, 'admin-review-reject')
  await dlg.getByRole('button', { name: '确认驳回' }).click()
  await page.getByText('已驳回：' + S.r.name).waitFor()
  await page.context().close()

  await vp.reload()
  await vp.getByText('入驻申请未通过').waitFor()
  await vp.getByText(`原因：${reason}`, { exact: false }).waitFor()
  const rec = vp.getByLabel('审核记录', { exact: true })
  await rec.getByRole('cell', { name: reason }).waitFor()
  await shoot(vp, 'vendor-status-rejected')
  await vp.context().close()
}

tests.credit = async () => {
  // The operator records a credit event on vendor A and sees it in the history; so does A.
  const page = await pageAs(S.admin)
  await page.goto(BASE + '/admin')
  // The approved list's own answer, not the pending tab's 共 N 条 still shown.
  const listed = page.waitForResponse((r) => r.url().includes('/api/v1/admin/vendors?') && r.url().includes('status=approved'))
  await page.getByRole('tab', { name: '已通过' }).click()
  await listed
  await page.getByText(/共 \d+ 条/).waitFor()
  await lastPage(page)
  await page.getByRole('cell', { name: S.a.name, exact: true }).waitFor()
  await page.getByRole('button', { name: '信用记录 ' + S.a.name }).click()
  const dlg = page.getByRole('dialog', { name: '信用记录：' + S.a.name })
  await dlg.getByText('还没有信用事件').waitFor()
  await pick(page, '类型', '延迟发货', dlg)
  await dlg.getByRole('spinbutton', { name: '分值' }).fill('-6')
  await dlg.getByRole('textbox', { name: '说明' }).fill('订单超 72 小时未发货 ' + TAG)
  await dlg.getByRole('button', { name: '记录', exact: true }).click()
  await page.getByText(/已记录，信用分现为 \d+/).waitFor()
  const hist = dlg.getByLabel('信用事件历史', { exact: true })
  await hist.getByRole('cell', { name: '订单超 72 小时未发货 ' + TAG }).waitFor()
  await hist.getByRole('cell', { name: '-6', exact: true }).waitFor()
  await shoot(page, 'admin-credit-events')
  const api1 = (await api(`/admin/vendors/${S.a.vid}/credit-events`, { token: S.admin.access_token })).body
  assert.equal(api1.items[0].points, -6)
  S.a.score = api1.items[0].score_after
  await page.context().close()

  const vp = await pageAs(S.a)
  await vp.goto(BASE + '/vendor')
  await vp.getByText('入驻已通过，扶贫资质有效').waitFor()
  await vp.getByText(`合格扶贫企业，有效期至 ${S.a.until}`).waitFor()
  const rec = vp.getByLabel('信用记录', { exact: true })
  await rec.getByRole('cell', { name: '订单超 72 小时未发货 ' + TAG }).waitFor()
  await rec.getByRole('cell', { name: '延迟发货', exact: true }).waitFor()
  await rec.getByRole('cell', { name: new RegExp(`^${S.a.score}（`) }).waitFor()
  await vp.getByLabel('审核记录', { exact: true }).getByRole('cell', { name: S.a.until }).waitFor()
  await shoot(vp, 'vendor-status-approved-credit')
  await vp.context().close()
}

tests.feeRule = async () => {
  // A rule made in the page prices the next order; changed in the page, it prices the one after.
  const page = await pageAs(S.admin)
  await page.goto(BASE + '/admin/fee-rules')
  await page.getByRole('heading', { name: '计费规则' }).waitFor()
  await page.getByRole('button', { name: '新建规则' }).click()
  const dlg = page.getByRole('dialog', { name: '新建计费规则' })
  const name = '网页测试：个体文创 ' + TAG
  await dlg.getByRole('textbox', { name: '规则名称' }).fill(name)
  await dlg.getByRole('textbox', { name: '佣金（%）' }).fill('3')
  await dlg.getByRole('textbox', { name: '扶贫减免（%）' }).fill('abc')
  await dlg.getByRole('button', { name: '创建规则' }).click()
  await dlg.getByText('0 到 100 之间，最多两位小数').waitFor()
  await dlg.getByRole('textbox', { name: '扶贫减免（%）' }).fill('0')
  await pick(page, '主体类型', '个体', dlg)
  await pick(page, '类目', '文创手工', dlg)
  await dlg.getByRole('spinbutton', { name: '优先级' }).fill('1000000')
  await shoot(page, 'admin-fee-rule-new')
  const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/admin/fee-rules') && r.request().method() === 'POST')
  await dlg.getByRole('button', { name: '创建规则' }).click()
  const rule = await (await created).json()
  S.rule = rule
  cleanups.push(() => api('/admin/fee-rules/' + rule.id, { method: 'PATCH', token: S.admin.access_token, body: { valid_to: new Date().toISOString() } }))
  await page.getByText('已创建：' + name).waitFor()
  const row = page.getByRole('row').filter({ hasText: name })
  await row.getByText('3.00%').waitFor()
  await row.getByText('生效中').waitFor()
  await shoot(page, 'admin-fee-rules')

  const o1 = await buy(S.pid, 1)
  assert.equal(o1.parts[0].items[0].fee_rule_id, rule.id, 'the new rule prices the order')
  assert.equal(o1.parts[0].items[0].fee_fen, 300)

  // the change: 3% → 5%
  await row.getByRole('button', { name: '编辑 ' + name }).click()
  const ed = page.getByRole('dialog', { name: '编辑规则：' + name })
  await ed.getByRole('textbox', { name: '佣金（%）' }).fill('5')
  await ed.getByRole('button', { name: '保存规则' }).click()
  await page.getByText('已保存，新订单按新规则计费').waitFor()
  await row.getByText('5.00%').waitFor()
  await row.getByRole('button', { name: '历史 ' + name }).click()
  const h = page.getByRole('dialog', { name: '规则历史：' + name })
  await h.getByText('佣金 3.00% → 5.00%').waitFor()
  await h.getByText('创建', { exact: true }).waitFor()
  await shoot(page, 'admin-fee-rule-history')
  await page.context().close()

  const o2 = await buy(S.pid, 1)
  assert.equal(o2.parts[0].items[0].fee_fen, 500, 'the changed rule prices the next order')

  // The vendor's statement: the next order's line carries the new fee and the rule.
  const vp = await pageAs(S.a)
  await vp.goto(BASE + '/vendor/statement')
  const l1 = vp.getByRole('row').filter({ hasText: o1.order_no })
  const l2 = vp.getByRole('row').filter({ hasText: o2.order_no })
  await l2.waitFor()
  const t1 = await l1.textContent()
  const t2 = await l2.textContent()
  assert.ok(t1.includes(yuan(300)) && t1.includes(name) && t1.includes(yuan(10000)), 'the earlier line keeps 3%: ' + t1)
  assert.ok(t2.includes(yuan(500)) && t2.includes(name) && t2.includes(yuan(10000)), 'the next line has 5%: ' + t2)
  await shoot(vp, 'vendor-statement-fee-change')
  await vp.context().close()
}

tests.ledger = async () => {
  // Grouping by vendor: the chart, the table with vendor A, the CSV equal to the API's, BOM first; the public figures.
  const page = await pageAs(S.admin)
  await page.goto(BASE + '/admin/ledger')
  await page.getByRole('heading', { name: /帮扶销售额是多少/ }).waitFor()
  await pick(page, '分组', '商家')
  const answer = page.waitForResponse((r) => r.url().includes('/admin/ledger?') && r.url().includes('group_by=vendor'))
  await page.getByRole('button', { name: '查询' }).click()
  await answer
  await page.getByRole('heading', { name: '各商家的帮扶销售额是多少？' }).waitFor()
  await page.getByRole('img', { name: '各商家帮扶销售额（元）' }).waitFor()
  await page.getByRole('img', { name: '各商家脱贫县销售额（元）' }).waitFor()
  if (S.rule) await page.getByLabel('帮扶台账明细', { exact: true }).getByRole('cell', { name: S.a.name, exact: true }).waitFor()
  await page.getByRole('heading', { name: /对外公布的帮扶成效/ }).waitFor()
  await page.getByRole('img', { name: '公开帮扶成效：各地区销售额（元）' }).waitFor()
  const impact = (await api('/impact')).body
  const pub = page.getByLabel('公开帮扶成效', { exact: true })
  for (const r of impact.regions) await pub.getByRole('cell', { name: yuan(r.gmv_fen), exact: true }).first().waitFor()
  await shoot(page, 'admin-ledger-vendor')

  const dl = page.waitForEvent('download')
  await page.getByRole('button', { name: '导出 CSV' }).click()
  const d = await dl
  const got = readFileSync(await d.path())
  assert.deepEqual([...got.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV starts with the UTF-8 BOM')
  const year = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 4)
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10)
  const r = await fetch(`${BASE}/api/v1/admin/ledger?from=${year}-01-01&to=${today}&group_by=vendor`, { headers: { accept: 'text/csv', authorization: 'Bearer ' + S.admin.access_token } })
  const want = Buffer.from(await r.arrayBuffer())
  assert.ok(want.equals(got), "the downloaded CSV equals the API's")
  assert.ok(d.suggestedFilename().endsWith('.csv'), d.suggestedFilename())
  if (S.rule) assert.ok(got.toString('utf8').includes(S.a.name), 'vendor A is in the CSV')
  notes.push(`ledger CSV by vendor: ${got.length} bytes, BOM first, equal to the API's`)
  await page.context().close()
}

tests.boost = async () => {
  // A boost rule made in the page pins A's product first in the channel preview; 停用 takes it off.
  const page = await pageAs(S.admin)
  await page.goto(BASE + '/admin/boost')
  await page.getByRole('heading', { name: '流量规则' }).waitFor()
  const seasonal = page.getByRole('list', { name: '频道 当季推荐' })
  await seasonal.getByRole('listitem').first().waitFor()
  await shoot(page, 'admin-boost')
  await page.getByRole('button', { name: '新建流量规则' }).click()
  const dlg = page.getByRole('dialog', { name: '新建流量规则' })
  const name = '网页测试置顶 ' + TAG
  await dlg.getByRole('textbox', { name: '规则名称' }).fill(name)
  await dlg.getByRole('spinbutton', { name: '权重' }).fill('1000')
  await dlg.getByRole('spinbutton', { name: '置顶位' }).fill('1')
  await dlg.getByRole('textbox', { name: '商品编号' }).fill(String(S.pid))
  await shoot(page, 'admin-boost-new')
  const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/admin/boost-rules') && r.request().method() === 'POST')
  await dlg.getByRole('button', { name: '创建规则' }).click()
  const rule = await (await created).json()
  cleanups.push(() => api('/admin/boost-rules/' + rule.id, { method: 'PATCH', token: S.admin.access_token, body: { valid_to: new Date().toISOString() } }))
  await page.getByText('已创建：' + name).waitFor()
  const first = seasonal.getByRole('listitem').first()
  await page.waitForFunction(([t]) => document.querySelector('[aria-label="频道 当季推荐"] li')?.textContent.includes(t), [S.title])
  assert.ok((await first.textContent()).includes('本规则'), 'the rule\'s product is marked')
  const ch = (await api('/channel')).body
  assert.equal(ch.sections.find((s) => s.key === 'seasonal').items[0].id, S.pid, "GET /channel agrees")
  await shoot(page, 'admin-boost-preview')

  const row = page.getByRole('row').filter({ hasText: name })
  await row.getByRole('button', { name: '停用 ' + name }).click()
  await page.getByRole('button', { name: '停用', exact: true }).click()
  await page.getByText('已停用：' + name).waitFor()
  await row.getByText('已结束').waitFor()
  await page.waitForFunction(([t]) => !document.querySelector('[aria-label="频道 当季推荐"] li')?.textContent.includes(t), [S.title])
  await page.context().close()
}

tests.campaign = async () => {
  // A campaign made in the page shows in the preview's 进行中的活动; 结束 takes it off.
  const page = await pageAs(S.admin)
  await page.goto(BASE + '/admin/campaigns')
  await page.getByRole('heading', { name: '专题活动' }).waitFor()
  await page.getByRole('button', { name: '新建活动' }).click()
  const dlg = page.getByRole('dialog', { name: '新建活动' })
  const title = '网页测试竹编周 ' + TAG
  await dlg.getByRole('textbox', { name: '活动标识' }).fill('Bad Slug')
  await dlg.getByRole('textbox', { name: '活动名称' }).fill(title)
  await dlg.getByRole('button', { name: '创建活动' }).click()
  await dlg.getByText('小写字母、数字和短横线，例如 winter-tea').waitFor()
  await dlg.getByRole('textbox', { name: '活动标识' }).fill('ws-bamboo-' + TAG)
  await dlg.getByRole('textbox', { name: '活动主题' }).fill('手工竹编，一起带动脱贫户增收。')
  await dlg.getByText('指定商品', { exact: true }).click()
  assert.ok(await dlg.getByRole('radio', { name: '指定商品' }).isChecked())
  await dlg.getByRole('textbox', { name: '商品编号' }).fill(String(S.pid))
  await shoot(page, 'admin-campaign-new')
  const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/admin/campaigns') && r.request().method() === 'POST')
  await dlg.getByRole('button', { name: '创建活动' }).click()
  const c = await (await created).json()
  assert.equal((await created).status(), 201, JSON.stringify(c))
  cleanups.push(() => api('/admin/campaigns/' + c.slug, { method: 'PATCH', token: S.admin.access_token, body: { ends_at: new Date().toISOString() } }))
  await page.getByText('已创建：' + title).waitFor()
  const live = page.getByRole('list', { name: '进行中的活动' })
  await live.getByText(title).waitFor()
  assert.ok((await api('/channel')).body.campaigns.some((x) => x.slug === c.slug), 'GET /channel has the campaign')
  await shoot(page, 'admin-campaign-preview')
  const row = page.getByRole('row').filter({ hasText: title })
  await row.getByRole('button', { name: '结束 ' + title }).click()
  await page.getByRole('button', { name: '结束', exact: true }).click()
  await page.getByText('已结束：' + title).waitFor()
  await live.getByText(title).waitFor({ state: 'detached' })
  await page.context().close()
}

tests.bxbp = async () => {
  // 百县百品 by county: A's product designated for its county, shown in the county table, then revoked.
  const page = await pageAs(S.admin)
  await page.goto(BASE + '/admin/bxbp')
  await page.getByRole('heading', { name: '百县百品' }).waitFor()
  await page.getByRole('button', { name: '查看商品 ' + S.county.name }).click()
  await page.getByRole('heading', { name: S.county.name + '的在售商品' }).waitFor()
  const btn = page.getByRole('button', { name: '认定百县百品 ' + S.title })
  await btn.click()
  const okMsg = page.getByText('已认定为百县百品：' + S.title)
  const taken = page.getByText('该县已有一个百县百品，请先撤销原来的认定')
  await okMsg.or(taken).first().waitFor()
  if (await okMsg.count()) {
    cleanups.push(() => api(`/admin/products/${S.pid}/bxbp`, { method: 'DELETE', token: S.admin.access_token }))
    const countyRow = page.getByRole('row').filter({ hasText: S.county.name }).first()
    await countyRow.getByText(S.title).waitFor()
    assert.equal((await api('/products/' + S.pid)).body.bxbp, true)
    await shoot(page, 'admin-bxbp')
    await page.getByRole('button', { name: '撤销百县百品 ' + S.title }).click()
    await page.getByText('已撤销百县百品：' + S.title).waitFor()
    assert.equal((await api('/products/' + S.pid)).body.bxbp, false)
  } else {
    notes.push(`bxbp: ${S.county.name} already had one; the 409 was shown`)
    await shoot(page, 'admin-bxbp')
  }
  await page.context().close()
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
const t0all = Date.now()
for (const [name, fn] of Object.entries(tests)) {
  if (only.length && name !== 'setup' && !only.includes(name)) continue
  const t0 = Date.now()
  try {
    await fn()
    passed++
    console.log(`web-ws-admin: ok   ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    failed++
    console.log(`web-ws-admin: FAIL ${name}: ${e.message}`)
    for (const ctx of browser.contexts()) for (const p of ctx.pages()) {
      await p.screenshot({ path: join(SHOTS, `FAIL-${name}.png`), fullPage: true }).catch(() => {})
      console.log(`  at ${p.url()}`)
      await ctx.close().catch(() => {})
    }
    if (name === 'setup') break
  }
}
for (const c of cleanups.reverse()) await c().catch((e) => console.log('web-ws-admin: cleanup: ' + e.message))
await browser.close()
for (const n of notes) console.log('web-ws-admin: note: ' + n)
if (axeFindings.length) {
  console.log(`web-ws-admin: axe: ${axeFindings.length} serious or critical finding(s):`)
  for (const f of axeFindings) console.log(`  ${f.page}: ${f.impact} ${f.id} (${f.help}) ${f.nodes.join(', ')}`)
  failed++
} else {
  console.log(`web-ws-admin: axe: no serious or critical violation on ${shots.length} pages`)
}
console.log(`web-ws-admin: ${passed} passed, ${failed} failed in ${Date.now() - t0all} ms; ${shots.length} screenshots in ${SHOTS}`)
process.exit(failed ? 1 : 0)
