// The enterprise journey of issue 13 (企业采购, 以购代捐) in the browser, run
// by `scripts/web.sh test` against BANGFU_URL in Debian's Chromium through
// playwright-core at 1440x900: an organisation with a buyer, an approver
// and a plan; a bulk order from a CSV of 50 recipients with 2 bad rows (the
// errors shown as the API gives them, the fixed file accepted); the
// submitter cannot approve, the approver approves; place and pay at the
// sandbox cashier; the report's chart carries the spend; the certificate
// prints on one A4 page and verifies on the public page, a forged one does
// not.  Screenshots of every page go to build/screens/ws_org (git-ignored);
// axe-core runs on each.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { ROOT, chromium, BASE, api, axeSerious } from './common.mjs'

const SHOTS = process.env.WS_ORG_SHOTS_DIR ?? join(ROOT, 'build', 'screens', 'ws_org')
const DESK = { width: 1440, height: 900 }
mkdirSync(SHOTS, { recursive: true })

const yuan = (f) => '¥' + Math.trunc(f / 100).toLocaleString('en') + '.' + String(f % 100).padStart(2, '0')
const YEAR = new Date(Date.now() + 8 * 3600e3).getUTCFullYear()

async function login(email, password) {
  const r = await api('/auth/login', { method: 'POST', body: { email, password } })
  assert.equal(r.status, 200, 'login ' + email + ': ' + JSON.stringify(r.body))
  return r.body
}
async function account(name) {
  const email = `ws-org-${Date.now()}-${Math.trunc(Math.random() * 1e6)}@example.com`
  const password = 'ws-org-password-1'
  const r = await api('/auth/register', { method: 'POST', body: { email, password, name, role: 'citizen' } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  const t = await login(email, password)
  return { email, password, name, tokens: t, token: t.access_token, id: r.body.id }
}
// The GB 32100 check character (as assets/src/workspace/creditcode.ts).
const ALPHA = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
function creditCode() {
  let s = '91'
  while (s.length < 17) s += ALPHA[Math.trunc(Math.random() * 31)]
  let sum = 0
  for (let i = 0; i < 17; i++) sum += ALPHA.indexOf(s[i]) * W[i]
  return s + ALPHA[(31 - (sum % 31)) % 31]
}

const axeFindings = []
const shots = []
let last = Date.now()
const TIMING = process.env.WS_ORG_TIMING === '1'
async function shoot(page, name, { axe = true } = {}) {
  const t0 = Date.now()
  await page.waitForLoadState('networkidle').catch(() => {})
  // Element Plus's messages fade out (an axe run mid-fade sees faint text).
  await page.locator('.el-message').first().waitFor({ state: 'detached', timeout: 8000 }).catch(() => {})
  const path = join(SHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  shots.push(path)
  const t1 = Date.now()
  if (axe) for (const v of await axeSerious(page)) axeFindings.push({ page: name, ...v })
  if (TIMING) console.log(`  ${name}: steps ${t0 - last} ms, shot ${t1 - t0} ms, axe ${Date.now() - t1} ms`)
  last = Date.now()
}

let browser
async function pageAs(who) {
  const ctx = await browser.newContext({ viewport: DESK, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true, extraHTTPHeaders: { 'x-forwarded-for': '10.77.0.3' } })
  const page = await ctx.newPage()
  page.on('pageerror', (e) => console.error('  page error:', e.message))
  if (who) {
    await page.goto(BASE + '/robots.txt')
    await page.evaluate((t) => localStorage.setItem('bangfu.auth', JSON.stringify(t)), who.tokens)
  }
  return page
}

/** Two listed goods of two vendors, with stock for the order and price tiers. */
async function twoProducts() {
  const got = []
  for (let pg = 1; pg <= 5 && got.length < 2; pg++) {
    for (const it of (await api(`/products?per_page=100&page=${pg}`)).body.items) {
      if (it.kind !== 'goods' || got.some((g) => g.vendor.id === it.vendor.id)) continue
      const p = (await api('/products/' + it.id)).body
      if (p.stock >= 200 && p.price_tiers.length > 1) got.push(p)
      if (got.length === 2) break
    }
  }
  assert.equal(got.length, 2, 'two products with stock and tiers')
  return got
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈'
/** The recipients' CSV: 50 rows, one recipient each, 2 of each product; bad rows on the lines given. */
function csv(products, bad = {}) {
  const rows = ['姓名,手机号,收货地址,商品编号,数量']
  for (let i = 0; i < 50; i++) {
    const line = i + 2
    const p = products[i % 2]
    let phone = '1390000' + String(1000 + i)
    let qty = '2'
    if (bad[line] === 'phone') phone = '139-abc'
    if (bad[line] === 'qty') qty = '0'
    rows.push(`${SURNAMES[i]}${i % 3 ? '敏' : '伟'},${phone},"上海市浦东新区世纪大道${100 + i}号, ${1 + (i % 20)}楼",${p.id},${qty}`)
  }
  return rows.join('\r\n') + '\r\n'
}

async function uploadApi(who, org, bid, body) {
  const r = await fetch(`${BASE}/api/v1/orgs/${org}/bulk-orders/${bid}/recipients.csv`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv; charset=utf-8', authorization: 'Bearer ' + who.token, accept: 'application/json' },
    body,
  })
  return { status: r.status, body: await r.json() }
}

const notes = []
const tests = {}

// 我的组织's people: invitations accepted and declined on the page, a role
// and then a member removed by the admin, and the last admin kept.
tests.members = async () => {
  const admin = await account('周婷（行政部）')
  const a = await account('陈刚（采购）')
  const b = await account('吴丽（财务）')
  const orgName = '沪西食品有限公司 ' + (Date.now() % 100000)
  const o = await api('/orgs', { method: 'POST', token: admin.token, body: { name: orgName, kind: 'enterprise', credit_code: creditCode() } })
  assert.equal(o.status, 201, JSON.stringify(o.body))
  const org = o.body.id
  for (const [who, role] of [[a, 'buyer'], [a, 'approver'], [b, 'approver']]) {
    const r = await api(`/orgs/${org}/members`, { method: 'POST', token: admin.token, body: { email: who.email, role } })
    assert.equal(r.status, 202, JSON.stringify(r.body))
  }
  const members = async () => (await api(`/orgs/${org}`, { token: admin.token })).body.members
  const rolesOf = async (who) => (await members()).find((m) => m.user_id === who.id)?.roles ?? null

  // A accepts both invitations on the page.
  const pa = await pageAs(a)
  await pa.goto(BASE + '/org')
  await pa.getByText('我的邀请').waitFor()
  await shoot(pa, 'org-invitations')
  for (let i = 0; i < 2; i++) {
    await pa.getByRole('button', { name: '接受 ' + orgName + ' 的邀请' }).first().click()
    await pa.getByText('您已加入' + orgName).first().waitFor()
  }
  await pa.getByRole('button', { name: '接受 ' + orgName + ' 的邀请' }).waitFor({ state: 'detached' })
  assert.deepEqual((await rolesOf(a)).sort(), ['approver', 'buyer'])
  await pa.context().close()

  // B declines: no member, no invitation left.
  const pb = await pageAs(b)
  await pb.goto(BASE + '/org')
  await pb.getByRole('button', { name: '谢绝 ' + orgName + ' 的邀请' }).click()
  await pb.getByText('已谢绝' + orgName + '的邀请').waitFor()
  await pb.getByText('我的邀请').waitFor({ state: 'detached' })
  assert.equal(await rolesOf(b), null)
  assert.equal((await api('/me/invitations', { token: b.token })).body.items.filter((i) => i.org.id === org).length, 0)
  await pb.context().close()

  // The admin takes A's 审批人 role, then removes A; the last admin cannot leave.
  const pd = await pageAs(admin)
  await pd.goto(BASE + '/org')
  await pd.getByText(a.email).waitFor()
  await shoot(pd, 'org-members')
  const row = pd.getByRole('row').filter({ hasText: a.email })
  await row.locator('.el-tag').filter({ hasText: '审批人' }).locator('.el-tag__close').click()
  await pd.getByText(`已取消 ${a.name} 的审批人角色`).waitFor()
  assert.deepEqual(await rolesOf(a), ['buyer'])
  pd.once('dialog', (d) => d.accept())
  await pd.getByRole('button', { name: '移出 ' + a.name }).click()
  await pd.getByText(`${a.name} 已移出`).waitFor()
  assert.equal(await rolesOf(a), null)
  pd.once('dialog', (d) => d.accept())
  const left = pd.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes(`/orgs/${org}/members/`))
  await pd.getByRole('button', { name: '退出组织' }).click()
  const r = await left
  assert.equal(r.status(), 409)
  assert.equal((await r.json()).code, 'last_admin')
  assert.deepEqual(await rolesOf(admin), ['admin'])
  await pd.context().close()
}

tests.enterprise = async () => {
  const t0 = Date.now()
  // ------------------------------------------------ the organisation, its people and plan
  const admin = await account('赵敏（行政部）')
  const buyer = await account('李娜（采购）')
  const approver = await account('王强（财务）')
  const orgName = '沪东机械集团有限公司 ' + (Date.now() % 100000)
  const o = await api('/orgs', { method: 'POST', token: admin.token, body: { name: orgName, kind: 'soe', credit_code: creditCode() } })
  assert.equal(o.status, 201, JSON.stringify(o.body))
  const org = o.body.id
  // The buyer also approves (a department head): the rules still forbid approving their own order.
  for (const [who, role] of [[buyer, 'buyer'], [buyer, 'approver'], [approver, 'approver']]) {
    const r = await api(`/orgs/${org}/members`, { method: 'POST', token: admin.token, body: { email: who.email, role } })
    assert.equal(r.status, 202, JSON.stringify(r.body))
  }
  for (const who of [buyer, approver]) {
    const inv = (await api('/me/invitations', { token: who.token })).body.items.filter((i) => i.org.id === org)
    assert.ok(inv.length >= 1)
    for (const i of inv) assert.equal((await api(`/me/invitations/${i.id}/accept`, { method: 'POST', token: who.token })).status, 200)
  }

  // The plan, on the organisation's page: ¥200,000 budget, 30 % reserved, approval above ¥1,000.
  const ap = await pageAs(admin)
  await ap.goto(BASE + '/org')
  await ap.getByRole('button', { name: '保存计划' }).waitFor()
  await ap.getByRole('textbox', { name: '年度预算（元）' }).fill('200000')
  await ap.getByRole('spinbutton', { name: '预留比例（%）' }).fill('30')
  await ap.getByRole('textbox', { name: '审批门槛（元）' }).fill('1000')
  await ap.getByRole('button', { name: '保存计划' }).click()
  await ap.getByText(`${YEAR} 年计划已保存`).waitFor()
  await ap.getByText('¥200,000.00').waitFor()
  await shoot(ap, 'org-plan')
  await ap.context().close()
  const plan = (await api(`/orgs/${org}/plan/${YEAR}`, { token: admin.token })).body
  assert.equal(plan.reserved_fen, 6000000, JSON.stringify(plan))

  // ------------------------------------------------ the wizard: 选商品
  const [pa, pb] = await twoProducts()
  const page = await pageAs(buyer)
  await page.goto(BASE + '/org/bulk')
  await page.getByRole('heading', { name: '批量采购', level: 1 }).waitFor()
  await page.getByText(orgName).waitFor()
  await shoot(page, 'bulk-list-empty')
  await page.getByRole('button', { name: '新建批量采购' }).click()
  await page.waitForURL(/\/org\/bulk\/new$/)
  for (const p of [pa, pb]) {
    await page.getByRole('textbox', { name: '搜索商品' }).fill(p.title)
    const answer = page.waitForResponse((r) => r.url().includes('/api/v1/products?') && r.url().includes('q='))
    await page.getByRole('button', { name: '搜索', exact: true }).click()
    await answer
    await page.getByRole('button', { name: '选择 ' + p.title, exact: true }).click()
  }
  await page.getByRole('button', { name: '移除 ' + pb.title }).waitFor()
  await shoot(page, 'bulk-1-products')
  await page.getByRole('button', { name: '下一步：收货人' }).click()
  await page.waitForURL(/\/org\/bulk\/\d+$/)
  const bid = Number(new URL(page.url()).pathname.split('/').pop())

  // ------------------------------------------------ 收货人: the template, a file with 2 bad rows, the fixed file
  const dl = page.waitForEvent('download')
  await page.getByRole('button', { name: '下载模板' }).click()
  const tpl = readFileSync(await (await dl).path())
  assert.deepEqual([...tpl.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the template starts with the UTF-8 BOM (Excel)')
  const tplText = tpl.subarray(3).toString('utf8')
  assert.ok(tplText.startsWith('姓名,手机号,收货地址,商品编号,数量\r\n'), tplText)
  assert.ok(tplText.includes(`,${pa.id},1`) && tplText.includes(`,${pb.id},1`), 'the template names the picked products')
  // The template itself is a file the API takes.
  const tplAnswer = await uploadApi(buyer, org, bid, tpl)
  assert.equal(tplAnswer.status, 200, JSON.stringify(tplAnswer.body))

  const badCsv = csv([pa, pb], { 9: 'phone', 32: 'qty' })
  await page.getByLabel('收货人 CSV 文件').setInputFiles({ name: '收货人名单.csv', mimeType: 'text/csv', buffer: Buffer.from(badCsv) })
  await page.getByText('文件有 2 处问题，没有导入任何收货人。请修改下列各行后重新上传。').waitFor()
  const shown = await page.getByRole('region', { name: '文件中的问题' }).getByRole('row').allTextContents()
  // What the API answers for that file, as it stands (nothing imported: the draft is unchanged).
  const apiBad = await uploadApi(buyer, org, bid, badCsv)
  assert.equal(apiBad.status, 422)
  assert.equal(apiBad.body.errors.length, 2, JSON.stringify(apiBad.body))
  assert.deepEqual(apiBad.body.errors.map((e) => e.line), [9, 32])
  assert.equal(shown.length, 3, shown.join(' | '))
  for (const [i, e] of apiBad.body.errors.entries()) {
    const cells = await page.getByRole('region', { name: '文件中的问题' }).getByRole('row').nth(i + 1).getByRole('cell').allTextContents()
    assert.deepEqual(cells.slice(0, 2), [String(e.line), e.message], "each bad row with its line and the API's message")
    assert.ok(cells[2].length > 0, 'and what to change: ' + cells.join(' | '))
  }
  await shoot(page, 'bulk-2-bad-rows')

  const goodCsv = csv([pa, pb])
  await page.getByLabel('收货人 CSV 文件').setInputFiles({ name: '收货人名单-已改.csv', mimeType: 'text/csv', buffer: Buffer.from(goodCsv) })
  await page.getByRole('heading', { name: '已导入 50 位收货人，50 行' }).waitFor()
  assert.equal(await page.getByText('文件有 2 处问题').count(), 0)
  await shoot(page, 'bulk-2-recipients')

  // ------------------------------------------------ 报价, 提交
  await page.getByRole('button', { name: '下一步：报价' }).click()
  await page.getByRole('heading', { name: /^报价/ }).waitFor()
  const draft = (await api(`/orgs/${org}/bulk-orders/${bid}`, { token: buyer.token })).body
  assert.equal(draft.recipients_count, 50)
  const total = draft.quote.total_fen
  for (const l of draft.quote.lines) {
    assert.equal(l.qty, 50)
    const row = page.getByRole('row').filter({ hasText: l.product_id === pa.id ? pa.title : pb.title })
    const text = await row.first().textContent()
    assert.ok(text.includes(yuan(l.unit_price_fen)) && text.includes(yuan(l.total_fen)) && text.includes('（适用）'), text)
  }
  await page.getByText(yuan(total)).first().waitFor()
  await page.getByText(/超过审批门槛 ¥1,000\.00/).waitFor()
  await shoot(page, 'bulk-3-quote')
  await page.getByRole('button', { name: '下一步：提交' }).click()
  await page.getByRole('button', { name: '提交审批' }).click()
  await page.getByText('已提交，等待审批人审批').first().waitFor()
  await shoot(page, 'bulk-4-submitted')

  // ------------------------------------------------ 审批: the submitter cannot, the approver does
  await page.goto(BASE + '/org/approvals')
  await page.getByRole('button', { name: '批准 #' + bid }).click()
  const refusal = await api(`/orgs/${org}/bulk-orders/${bid}/approve`, { method: 'POST', token: buyer.token })
  assert.equal(refusal.status, 403)
  assert.equal(refusal.body.code, 'self_approval')
  await page.getByText(`不能批准 #${bid}：提交人不能批准自己提交的订单，请由其他审批人批准`).waitFor()
  await page.getByText('服务器答复：' + refusal.body.detail, { exact: true }).waitFor()
  await shoot(page, 'approvals-submitter-refused')
  assert.equal((await api(`/orgs/${org}/bulk-orders/${bid}`, { token: buyer.token })).body.status, 'submitted')

  const cp = await pageAs(approver)
  await cp.goto(BASE + '/org/approvals')
  await cp.getByRole('button', { name: '驳回 #' + bid }).click()
  const dlg = cp.getByRole('dialog', { name: '驳回批量采购 #' + bid })
  await dlg.getByRole('button', { name: '确认驳回' }).click()
  await dlg.getByText('请填写驳回理由，采购员会看到它').waitFor()
  await shoot(cp, 'approvals-reject-needs-reason')
  await dlg.getByRole('button', { name: '取消' }).click()
  await dlg.waitFor({ state: 'hidden' })
  await shoot(cp, 'approvals-queue')
  await cp.getByRole('button', { name: '批准 #' + bid }).click()
  await cp.getByText(`已批准 #${bid}，采购员可以下单了`).waitFor()
  await cp.getByRole('button', { name: '批准 #' + bid }).waitFor({ state: 'detached' })
  await cp.context().close()
  const approved = (await api(`/orgs/${org}/bulk-orders/${bid}`, { token: buyer.token })).body
  assert.equal(approved.status, 'approved')
  assert.equal(approved.decided_by.id, approver.id)

  // ------------------------------------------------ place, pay at the sandbox cashier
  await page.goto(BASE + '/org/bulk/' + bid)
  await page.getByText('已批准，可以下单').waitFor()
  await shoot(page, 'bulk-approved')
  await page.getByRole('button', { name: '下单', exact: true }).click()
  await page.getByRole('button', { name: '去支付' }).waitFor()
  await page.getByText('已下单，待支付 ' + yuan(total)).waitFor()
  await shoot(page, 'bulk-placed')
  await page.getByRole('button', { name: '去支付' }).click()
  await page.waitForURL(/\/sandbox\/pay\/\d+$/)
  await page.getByText(`¥${Math.trunc(total / 100)}.${String(total % 100).padStart(2, '0')}`).waitFor() // the cashier writes no thousands separator
  await shoot(page, 'sandbox-cashier')
  await page.getByRole('button', { name: '支付成功' }).click()
  await page.waitForURL((u) => u.pathname === '/org/bulk/' + bid) // the cashier returns to the bulk order
  await page.getByRole('alert').getByText('已支付', { exact: true }).waitFor()
  await shoot(page, 'bulk-paid')
  const paid = (await api(`/orgs/${org}/bulk-orders/${bid}`, { token: buyer.token })).body
  assert.equal(paid.status, 'placed')
  assert.ok(paid.orders.length === 2 && paid.orders.every((x) => x.status === 'paid'), JSON.stringify(paid.orders))
  await page.goto(BASE + '/org/bulk')
  await page.getByRole('link', { name: '查看 #' + bid }).waitFor()
  await shoot(page, 'bulk-list')

  // ------------------------------------------------ the year's report: the chart carries the spend
  const rep = (await api(`/orgs/${org}/report/${YEAR}`, { token: buyer.token })).body
  assert.equal(rep.spend_fen, total, JSON.stringify(rep))
  await page.goto(BASE + '/org/report')
  await page.getByRole('heading', { name: `${YEAR} 年的帮扶采购跟上预留进度了吗？` }).waitFor()
  const chart = page.getByRole('img', { name: new RegExp(`累计 ${yuan(total).replace(/[$.]/g, '\\$&')}`) })
  await chart.waitFor()
  // The line's end label, drawn in the SVG, is the spend; the expected line ends at the reserved amount.
  await chart.locator('svg text', { hasText: yuan(total) }).first().waitFor()
  await chart.locator('svg text', { hasText: yuan(rep.reserved_fen) }).first().waitFor()
  await page.getByRole('img', { name: '各地区采购额（元）' }).waitFor()
  for (const r of rep.by_region) await page.getByRole('row').filter({ hasText: r.name }).filter({ hasText: yuan(r.spend_fen) }).first().waitFor()
  await shoot(page, 'report')

  // ------------------------------------------------ the certificate: printed, verified in public
  await page.getByRole('button', { name: '查看帮扶证书' }).click()
  await page.waitForURL(/\/org\/certificate\?year=\d+$/)
  await page.getByRole('img', { name: '证书核验二维码' }).locator('svg').waitFor()
  const cert = page.getByRole('article', { name: '证书' })
  await cert.getByText(yuan(total)).first().waitFor()
  await cert.getByText(orgName).waitFor()
  await shoot(page, 'certificate')
  await page.emulateMedia({ media: 'print' })
  const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true })
  await page.emulateMedia({ media: 'screen' })
  writeFileSync(join(SHOTS, 'certificate.pdf'), pdf)
  const s = pdf.toString('latin1')
  assert.equal((s.match(/\/Type\s*\/Page[^s]/g) ?? []).length, 1, 'the certificate prints on one page')
  const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(s)
  assert.ok(box && Math.abs(Number(box[1]) - 595.92) < 2 && Math.abs(Number(box[2]) - 842.88) < 2, 'A4: ' + (box && box[0]))
  const href = await cert.getByRole('link').getAttribute('href')
  assert.match(href, new RegExp('^' + BASE.replace(/[.]/g, '\\.') + '/verify\\?token='))
  assert.ok(new RegExp('/URI\\s*\\(' + href.slice(0, 40).replace(/[.?]/g, '\\$&')).test(s), 'the PDF links the verification page')
  const certApi = (await api(`/orgs/${org}/certificates/${YEAR}`, { token: buyer.token })).body
  assert.equal(certApi.amount_fen, total)
  await page.context().close()

  const pub = await pageAs(null)
  const res = await pub.goto(href) // a direct load of the app's path
  assert.equal(res.status(), 200, '/verify is an app path')
  assert.match(res.headers()['content-type'], /^text\/html/)
  await pub.getByRole('heading', { name: '✓ 证书真实有效' }).waitFor()
  await pub.getByText(orgName + '（国有企业）').waitFor()
  await pub.getByText(yuan(total), { exact: true }).first().waitFor()
  await shoot(pub, 'verify-genuine')
  // A forged certificate: the same signature over a larger amount.
  const token = new URL(href).searchParams.get('token')
  const [h, payload, sig] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  const forgedClaims = JSON.stringify(claims).replace(String(total), String(total * 10))
  assert.notEqual(forgedClaims, JSON.stringify(claims), 'the forgery changes the amount: ' + JSON.stringify(claims))
  const forged = [h, Buffer.from(forgedClaims).toString('base64url'), sig].join('.')
  assert.equal((await api('/certificates/verify?token=' + encodeURIComponent(forged))).body.code, 'invalid_certificate')
  const res2 = await pub.goto(BASE + '/verify?token=' + encodeURIComponent(forged))
  assert.equal(res2.status(), 200)
  await pub.getByRole('heading', { name: '✗ 证书无效' }).waitFor()
  assert.equal(await pub.getByText(yuan(total * 10)).count(), 0, 'a forged amount is never shown')
  await shoot(pub, 'verify-forged')
  await pub.goto(BASE + '/verify')
  await pub.getByRole('textbox', { name: '粘贴证书上的核验链接或核验码' }).fill(href)
  await pub.getByRole('button', { name: '核验' }).click()
  await pub.getByRole('heading', { name: '✓ 证书真实有效' }).waitFor()
  await shoot(pub, 'verify-pasted')
  await pub.context().close()
  notes.push(`enterprise journey: ${Date.now() - t0} ms (bulk order #${bid}, ${yuan(total)}, 50 recipients)`)
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
    console.log(`web-org: ok   ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    failed++
    console.log(`web-org: FAIL ${name}: ${e.stack ?? e.message}`)
    for (const ctx of browser.contexts()) for (const p of ctx.pages()) {
      await p.screenshot({ path: join(SHOTS, `FAIL-${name}.png`), fullPage: true }).catch(() => {})
      console.log(`  at ${p.url()}`)
    }
  }
}
await browser.close()
for (const n of notes) console.log('web-org: note: ' + n)
if (axeFindings.length) {
  console.log(`web-org: axe: ${axeFindings.length} serious or critical finding(s):`)
  for (const f of axeFindings) console.log(`  ${f.page}: ${f.impact} ${f.id} (${f.help}) ${f.nodes.join(', ')}`)
  failed++
} else {
  console.log(`web-org: axe: no serious or critical violation on ${shots.length} pages`)
}
console.log(`web-org: ${passed} passed, ${failed} failed; screenshots in ${SHOTS}`)
process.exit(failed ? 1 : 0)
