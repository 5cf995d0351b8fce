// Browser tests of the shop (帮扶商城), run by `make test` (scripts/web.sh
// test) against the test server at BANGFU_URL, in Debian's Chromium through
// playwright-core (no browser download).  Locators by role and visible
// text; waits on the page's own requests or text, never fixed sleeps.
// Screenshots of every page at 390x844 and 1280x800 go to
// var/$INSTANCE/screens (not committed); axe-core runs on every page.
//
// Each test is a function below; the runner prints one line per test and
// exits 1 if any failed.  `node tests/web/run.mjs journey trace` runs some.
import { createHmac } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { ROOT, chromium, BASE, INSTANCE, api, sandboxSecret, axeSerious } from './common.mjs'

const SHOTS = process.env.SHOTS_DIR ?? join(ROOT, 'var', INSTANCE, 'screens')
const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1280, height: 800 }
mkdirSync(SHOTS, { recursive: true })

// ------------------------------------------------------------ helpers

const yuan = (fen) => {
  const a = Math.abs(fen)
  const y = String(Math.trunc(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return (fen < 0 ? '-' : '') + '¥' + y + '.' + String(a % 100).padStart(2, '0')
}

const axeFindings = []
async function axe(page, name) {
  const bad = await axeSerious(page)
  for (const v of bad) axeFindings.push({ page: name, ...v })
  return bad
}

/** Screenshots at both sizes and an axe run; the page is left at phone size. */
async function shoot(page, name) {
  await page.waitForLoadState('networkidle').catch(() => {})
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`) })
  await page.screenshot({ path: join(SHOTS, `${name}-phone-full.png`), fullPage: true })
  await page.setViewportSize(DESKTOP)
  await page.waitForLoadState('networkidle').catch(() => {})
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: false })
  await page.setViewportSize(PHONE)
  await axe(page, name)
}

async function token(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('bangfu.auth') ?? 'null')?.access_token ?? null)
}

let ctx
async function newPage() {
  const page = await ctx.newPage()
  await page.setViewportSize(PHONE)
  page.on('pageerror', (e) => console.error('  page error:', e.message))
  return page
}
async function fresh(page) {
  await page.goto(BASE + '/robots.txt')
  await page.evaluate(() => localStorage.clear())
}

/** Polls cond (an observable state) every 100 ms until it holds, or throws. */
async function until(what, cond, ms = 15000) {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what)
    await new Promise((r) => setTimeout(r, 100))
  }
}
const alive = (pid) => { try { process.kill(pid, 0); return true } catch { return false } }
const readyz = async () => (await fetch(BASE + '/readyz').catch(() => ({ status: 0 }))).status

/** The srcs of the page's images that loaded and are broken (none may be). */
async function brokenImages(page) {
  return page.evaluate(() => [...document.images].filter((i) => i.complete && i.naturalWidth === 0).map((i) => i.currentSrc || i.src))
}

async function pickShanghai(page) {
  await page.getByRole('button', { name: /^省市区/ }).click()
  const dialog = page.locator('.van-popup').filter({ has: page.getByText('选择省市区') })
  await dialog.locator('.van-picker-column').nth(0).getByRole('button', { name: '上海市', exact: true }).click()
  await dialog.locator('.van-picker-column').nth(2).getByRole('button', { name: '徐汇区', exact: true }).click()
  await dialog.getByRole('button', { name: '确认' }).click()
  await page.getByRole('button', { name: '省市区 上海市 徐汇区' }).waitFor()
}

/** On the cashier page, if this branch has one; else the provider's signed
 * notification sent from here (as the cashier would), and the order page. */
async function payOnCashier(page, orderId, total) {
  await page.waitForURL((u) => u.pathname.startsWith('/sandbox/pay/') || u.pathname === `/orders/${orderId}`)
  if (new URL(page.url()).pathname.startsWith('/sandbox/pay/')) {
    await shoot(page, 'sandbox-cashier')
    await page.getByRole('button', { name: '支付成功' }).click()
    await page.waitForURL((u) => u.pathname === `/orders/${orderId}`)
    return 'cashier'
  }
  const t = await token(page)
  const pays = await api(`/orders/${orderId}/payments`, { method: 'POST', token: t, body: { provider: 'sandbox' }, headers: { 'idempotency-key': 'web-' + orderId + '-' + Date.now() } })
  assert.equal(pays.status, 201, JSON.stringify(pays.body))
  const raw = JSON.stringify({ payment_id: pays.body.payment_id, status: 'succeeded', amount_fen: total })
  const sig = createHmac('sha256', sandboxSecret()).update(raw).digest('hex')
  const r = await fetch(BASE + '/api/v1/payments/sandbox/notify', { method: 'POST', headers: { 'content-type': 'application/json', 'x-sandbox-signature': sig }, body: raw })
  assert.equal(r.status, 200, 'sandbox notify: ' + (await r.text()))
  await page.goto(BASE + `/orders/${orderId}`)
  return 'notify (no cashier page in this branch)'
}

// ------------------------------------------------------------ tests

const tests = {}
const notes = []

tests.journey = async () => {
  const page = await newPage()
  await fresh(page)
  await page.goto(BASE + '/')
  await page.getByRole('heading', { name: /帮扶商城/ }).waitFor()
  await page.getByRole('heading', { name: '当季推荐' }).waitFor()
  // the first card's picture is the drawn JPEG (/img/p/N.jpg), not a placeholder
  await page.waitForFunction(() => [...document.images].some((i) => /\/img\/p\/\d+\.jpg$/.test(i.src) && i.complete && i.naturalWidth > 0))
  await shoot(page, 'home')
  assert.deepEqual(await brokenImages(page), [])
  // Vant's icon font (a data: URL in its CSS) is allowed by the CSP and loaded: no tofu boxes
  assert.ok(await page.evaluate(async () => { await document.fonts.ready; return [...document.fonts].some((f) => f.family.includes('vant-icon') && f.status === 'loaded') }), 'the vant-icon font loads')

  // 云南馆
  await page.getByRole('link', { name: /云南馆/ }).click()
  await page.getByRole('heading', { level: 1, name: '云南馆' }).waitFor()
  await page.getByRole('heading', { name: '精选好物' }).waitFor()
  await shoot(page, 'region-yunnan')

  // 搜索 普洱 (from the home page's search bar)
  await page.goto(BASE + '/')
  await page.getByRole('searchbox', { name: '搜索商品' }).fill('普洱')
  await page.getByRole('button', { name: '搜索', exact: true }).click()
  await page.waitForURL(/\/search\?q=/)
  await page.getByText(/共 \d+ 件商品/).waitFor()
  await shoot(page, 'search')
  const first = page.getByRole('link').filter({ hasText: '普洱' }).first()
  await first.click()
  await page.waitForURL(/\/p\/\d+$/)
  const pid = Number(new URL(page.url()).pathname.split('/')[2])
  const before = (await api('/products/' + pid)).body
  await page.getByRole('heading', { level: 1, name: before.title }).waitFor()
  await page.getByText(`库存 ${before.stock} `).waitFor()
  // the product's own picture, loaded (naturalWidth > 0), never a broken image
  assert.match(before.images[0], /^\/img\/p\/\d+\.jpg$/)
  const pic = page.locator(`.pics img[src="${before.images[0]}"]`).first()
  await pic.waitFor()
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await pic.elementHandle())
  assert.ok((await pic.evaluate((el) => el.naturalWidth)) > 0)
  await shoot(page, 'product')
  assert.deepEqual(await brokenImages(page), [])

  // adds 2
  await page.getByRole('button', { name: '增加购买数量' }).click()
  assert.equal(await page.getByRole('textbox', { name: '购买数量' }).inputValue(), '2')
  await page.getByRole('button', { name: '加入购物车' }).click()
  await page.getByText('已加入购物车（共 2').waitFor()
  const guestToken = await page.evaluate(() => JSON.parse(localStorage.getItem('bangfu.cart') ?? 'null'))
  assert.ok(guestToken, 'a guest cart token is kept')

  await page.getByRole('button', { name: '购物车' }).first().click() // the bar's 购物车, before 加入购物车
  await page.getByRole('heading', { level: 1, name: '购物车' }).waitFor()
  await page.getByRole('link', { name: before.title }).waitFor()
  assert.equal(await page.getByRole('textbox', { name: before.title + ' 数量' }).inputValue(), '2')
  await shoot(page, 'cart')

  // 去结算 → 登录 → 注册
  await page.getByRole('button', { name: '去结算' }).click()
  await page.waitForURL(/\/login\?redirect=(%2F|\/)checkout/)
  await shoot(page, 'login')
  await page.getByRole('link', { name: '没有账号？去注册' }).click()
  const email = `web-${Date.now()}@example.com`
  await page.getByRole('textbox', { name: '邮箱' }).fill(email)
  await page.getByRole('textbox', { name: '昵称' }).fill('上海市民')
  await page.getByRole('textbox', { name: '密码' }).fill('short')
  await page.getByRole('button', { name: '注册', exact: true }).click()
  await page.getByText('密码至少 10 个字符').waitFor()
  await shoot(page, 'register-errors')
  await page.getByRole('textbox', { name: '密码' }).fill('web-test-password-1')
  await page.getByRole('button', { name: '注册', exact: true }).click()
  await page.waitForURL(/\/checkout$/)

  // the guest cart, merged
  await page.getByText(before.title).waitFor()
  await page.getByText('× 2').waitFor()
  const t = await token(page)
  const cart = (await api('/cart', { token: t })).body
  assert.equal(cart.items.find((i) => i.product_id === pid)?.qty, 2, 'the guest cart is merged at login')

  // address with the 省市区 picker, then 提交订单
  await page.getByRole('textbox', { name: '收货人' }).fill('张三')
  await page.getByRole('textbox', { name: '手机号' }).fill('13800138000')
  await pickShanghai(page)
  await page.getByRole('textbox', { name: '详细地址' }).fill('漕溪北路 1 号')
  await shoot(page, 'checkout')
  const placed = page.waitForResponse((r) => r.url().endsWith('/api/v1/orders') && r.request().method() === 'POST')
  await page.getByRole('button', { name: '提交订单' }).click()
  // The page goes on to the cashier at once: on a slow machine the answer's
  // body can be gone before it is read; then the order is the newest one.
  const answer = await placed
  assert.equal(answer.status(), 201)
  const order = await answer.json().catch(async () =>
    (await api('/orders/' + (await api('/orders', { token: t })).body.items[0].id, { token: t })).body)
  assert.equal(order.status, 'pending_payment')
  const how = await payOnCashier(page, order.id, order.total_fen)
  notes.push('journey paid by ' + how)
  await page.getByRole('heading', { level: 1, name: '已支付' }).waitFor()
  await shoot(page, 'order-paid')

  // 我的订单
  await page.goto(BASE + '/orders')
  await page.getByText(`订单 ${order.order_no}`).waitFor()
  await page.locator('li').filter({ hasText: order.order_no }).getByText('已支付').waitFor()
  await shoot(page, 'orders')

  // the product page's stock went down by 2
  await page.goto(BASE + '/p/' + pid)
  await page.getByText(`库存 ${before.stock - 2} `).waitFor()

  // a second order, tapped twice, makes one order; cancelled before payment
  await page.getByRole('button', { name: '加入购物车' }).click()
  await page.getByText('已加入购物车').waitFor()
  const n0 = (await api('/orders', { token: t })).body.total
  await page.goto(BASE + '/checkout')
  await page.getByText(before.title).waitFor()
  assert.equal(await page.getByRole('textbox', { name: '收货人' }).inputValue(), '张三', 'the address is remembered')
  const posts = []
  page.on('request', (r) => { if (r.url().endsWith('/api/v1/orders') && r.method() === 'POST') posts.push(r.headers()['idempotency-key']) })
  await page.getByRole('button', { name: '提交订单' }).dblclick()
  await page.waitForURL((u) => u.pathname.startsWith('/sandbox/pay/') || /^\/orders\/\d+$/.test(u.pathname))
  const all = (await api('/orders', { token: t })).body
  assert.equal(all.total, n0 + 1, `one order from a double tap (POSTs sent: ${posts.length}, keys: ${new Set(posts).size})`)
  const second = all.items.find((o) => o.status === 'pending_payment')
  assert.ok(second, 'the second order is unpaid')
  await page.goto(BASE + '/orders/' + second.id)
  await page.getByRole('heading', { level: 1, name: '待付款' }).waitFor()
  await page.getByText(/请在.*内支付/).waitFor()
  await shoot(page, 'order-unpaid')
  await page.getByRole('button', { name: '取消订单' }).first().click()
  await page.getByRole('dialog').getByRole('button', { name: '取消订单' }).click()
  await page.getByRole('heading', { level: 1, name: '已取消' }).waitFor()

  // the paid one cancelled: refunded
  await page.goto(BASE + '/orders/' + order.id)
  await page.getByRole('heading', { level: 1, name: '已支付' }).waitFor()
  await page.getByRole('button', { name: '取消订单' }).first().click()
  await page.getByRole('dialog').getByRole('button', { name: '取消订单' }).click()
  await page.getByRole('heading', { level: 1, name: '已退款' }).waitFor()
  await shoot(page, 'order-refunded')

  await page.goto(BASE + '/me')
  await page.getByRole('heading', { name: '上海市民' }).waitFor()
  await shoot(page, 'me')
  await page.close()
}

tests.short_stock = async () => {
  // A line short of stock at checkout is shown on that line.
  const page = await newPage()
  await fresh(page)
  const email = `web-short-${Date.now()}@example.com`
  const reg = await api('/auth/register', { method: 'POST', body: { email, password: 'web-test-password-2', name: '测试', role: 'citizen' }, headers: { 'x-forwarded-for': '10.77.0.2' } })
  assert.equal(reg.status, 201, JSON.stringify(reg.body))
  await page.goto(BASE + '/login')
  await page.getByRole('textbox', { name: '邮箱' }).fill(email)
  await page.getByRole('textbox', { name: '密码' }).fill('web-test-password-2')
  await page.getByRole('button', { name: '登录', exact: true }).click()
  await page.waitForURL(/\/me$/)
  const t = await token(page)
  // a product with little stock: pick one, add 3, then have its stock fall
  // to 1 through the vendor's own API (as another buyer would)
  const v = (await api('/auth/login', { method: 'POST', body: { email: 'vendor@demo.bangfu.cn', password: 'bangfu-demo-vendor' }, headers: { 'x-forwarded-for': '10.77.0.3' } })).body
  const mine = (await api('/vendor/products?per_page=50', { token: v.access_token })).body.items.find((p) => p.status === 'listed' || p.listed || p.published)
  assert.ok(mine, 'the demo vendor has a listed product')
  const pid = mine.id
  const full = (await api('/products/' + pid)).body
  assert.equal((await api('/cart/items/' + pid, { method: 'PUT', token: t, body: { qty: 3 } })).status, 200)
  const s = await api(`/vendor/products/${pid}/stock`, { method: 'PUT', token: v.access_token, body: { stock: 1 } })
  assert.equal(s.status, 200, JSON.stringify(s.body))
  try {
    await page.goto(BASE + '/checkout')
    await page.getByText(full.title).first().waitFor()
    await page.getByRole('textbox', { name: '收货人' }).fill('李四')
    await page.getByRole('textbox', { name: '手机号' }).fill('13900139000')
    await pickShanghai(page)
    await page.getByRole('textbox', { name: '详细地址' }).fill('南京西路 2 号')
    await page.getByRole('button', { name: '提交订单' }).click()
    await page.locator(`li[data-product="${pid}"]`).getByText('库存不足，最多可买 1 件').waitFor()
    await page.getByText('有商品库存不足，订单没有提交').waitFor()
    await shoot(page, 'checkout-short')
  } finally {
    await api(`/vendor/products/${pid}/stock`, { method: 'PUT', token: v.access_token, body: { stock: full.stock } })
  }
  await page.close()
}

tests.trace = async () => {
  const page = await newPage()
  let full
  for (const p of (await api('/products?q=' + encodeURIComponent('普洱') + '&per_page=20')).body.items) {
    full = (await api('/products/' + p.id)).body
    if (full.batches.length) break
  }
  const b = full.batches[0]
  await page.goto(BASE + '/t/' + b.trace_code)
  await page.getByText(`溯源码 ${b.trace_code} 查询结果`).waitFor()
  await page.getByText(b.code, { exact: true }).waitFor()
  await page.getByRole('link', { name: full.title }).waitFor()
  await shoot(page, 'trace')
  await page.goto(BASE + '/t/NOSUCHCODE000000')
  await page.getByText('没有找到溯源码 NOSUCHCODE000000').waitFor()
  await shoot(page, 'trace-unknown')
  await page.close()
}

tests.impact = async () => {
  const page = await newPage()
  const data = (await api('/impact')).body
  await page.goto(BASE + '/impact')
  await page.getByRole('heading', { level: 1, name: `${data.year} 年消费扶贫成效` }).waitFor()
  for (const r of data.regions) {
    const row = page.locator(`tr[data-region="${r.code}"]`)
    await row.getByText(yuan(r.gmv_fen), { exact: true }).waitFor()
    assert.equal((await row.locator('td').nth(2).textContent()).trim(), String(r.orders))
    assert.equal((await row.locator('td').nth(4).textContent()).trim(), String(r.households_linked))
  }
  assert.equal(await page.getByRole('img', { name: /柱状图/ }).count(), 3, 'three charts')
  await page.locator('.chart svg').first().waitFor()
  await shoot(page, 'impact')
  await page.close()
}

tests.short_paths = async () => {
  const page = await newPage()
  let p
  for (const it of (await api('/products?per_page=20')).body.items) {
    p = (await api('/products/' + it.id)).body
    if (p.batches.length) break
  }
  const b = p.batches[0]
  for (const [path, heading] of [
    ['/p/' + p.id, p.title],
    ['/r/kashgar', '新疆喀什馆'],
    ['/t/' + b.trace_code, null],
    ['/impact', /年消费扶贫成效/],
  ]) {
    const r = await page.goto(BASE + path)
    assert.equal(r.status(), 200, path)
    assert.match(r.headers()['content-type'], /^text\/html/)
    assert.equal(r.headers()['cache-control'], 'no-cache')
    if (heading) await page.getByRole('heading', { level: 1, name: heading }).waitFor()
    else await page.getByText(`溯源码 ${b.trace_code} 查询结果`).waitFor()
  }
  await page.goto(BASE + '/r/kashgar')
  await page.getByRole('heading', { name: '精选好物' }).waitFor()
  await shoot(page, 'region-kashgar')
  await page.goto(BASE + '/category')
  await page.getByRole('link', { name: /青海果洛馆/ }).waitFor()
  await shoot(page, 'category')
  await page.goto(BASE + '/trace')
  await shoot(page, 'trace-form')

  // hashed assets: a year, immutable; a missing one 404
  const html = await (await fetch(BASE + '/')).text()
  const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)[1]
  const a = await fetch(BASE + js, { method: 'HEAD' })
  assert.equal(a.status, 200)
  assert.equal(a.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  assert.match(a.headers.get('content-type'), /^text\/javascript/)
  const etag = (await fetch(BASE + '/')).headers.get('etag')
  assert.equal((await fetch(BASE + '/', { headers: { 'if-none-match': etag } })).status, 304)
  assert.equal((await fetch(BASE + '/assets/no-such-file.js')).status, 404)
  // no inline script, nothing from elsewhere (the CSP allows our own files only)
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/)
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//)
  await page.close()
}

tests.not_found = async () => {
  const page = await newPage()
  const r = await page.goto(BASE + '/no/such/page')
  assert.equal(r.status(), 404)
  await page.getByRole('heading', { name: '页面不存在' }).waitFor()
  await shoot(page, 'not-found')
  await page.getByRole('link', { name: '返回首页' }).click()
  await page.waitForURL(BASE + '/')
  const r2 = await page.goto(BASE + '/p/999999')
  assert.equal(r2.status(), 200)
  await page.getByText('商品不存在或已下架').waitFor()
  await page.goto(BASE + '/r/nowhere')
  await page.getByText('没有这个地区馆').waitFor()
  await page.close()
}

tests.errors = async () => {
  // The API unreachable: a message with 重试, never a blank page; 重试 recovers.
  const page = await newPage()
  let down = true
  await page.route('**/api/v1/channel', (route) => (down ? route.fulfill({ status: 503, contentType: 'application/problem+json', body: '{"status":503,"code":"unavailable","detail":"x"}' }) : route.continue()))
  await page.goto(BASE + '/')
  await page.getByText('服务暂时不可用，请稍后重试').waitFor()
  await shoot(page, 'home-error')
  down = false
  await page.getByRole('button', { name: '重试' }).click()
  await page.getByRole('heading', { name: '当季推荐' }).waitFor()
  await page.unroute('**/api/v1/channel')
  // The cart with its store really down: the test instance's Redis is
  // stopped (by the PID in its pidfile) and started again (scripts/services.sh).
  let listed
  for (const p of (await api('/products?per_page=20')).body.items) {
    listed = (await api('/products/' + p.id)).body
    if (listed.stock > 0) break
  }
  const put = await fetch(BASE + '/api/v1/cart/items/' + listed.id, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.77.0.5' }, body: JSON.stringify({ qty: 1 }) })
  assert.equal(put.status, 200)
  const cartToken = put.headers.get('x-cart-token')
  assert.ok(cartToken)
  await fresh(page)
  await page.evaluate((t) => localStorage.setItem('bangfu.cart', JSON.stringify(t)), cartToken)
  const pidfile = join(ROOT, 'var', INSTANCE, 'redis', 'redis.pid')
  const redisPid = Number(readFileSync(pidfile, 'utf8').trim())
  assert.ok(redisPid > 1 && alive(redisPid), 'the instance\'s Redis runs (' + pidfile + ')')
  process.kill(redisPid, 'SIGTERM')
  try {
    await until('Redis to exit', () => !alive(redisPid))
    await until('/readyz to answer 503', async () => (await readyz()) === 503)
    await page.goto(BASE + '/cart')
    await page.getByText('购物车暂时打不开，您的商品不会丢失，请稍后重试').waitFor()
    await page.getByRole('button', { name: '重试' }).waitFor()
    await shoot(page, 'cart-error')
  } finally {
    execFileSync(join(ROOT, 'scripts', 'services.sh'), ['start'], { env: { ...process.env, INSTANCE }, stdio: 'ignore' })
  }
  await until('/readyz to answer 200', async () => (await readyz()) === 200)
  await page.getByRole('button', { name: '重试' }).click()
  await page.getByRole('heading', { level: 1, name: '购物车' }).waitFor()
  // recovered, with the line kept
  await page.getByRole('link', { name: listed.title }).waitFor()
  await page.close()
}

tests.session = async () => {
  // A revoked or expired session leads to 登录 and back, keeping the cart.
  const page = await newPage()
  await fresh(page)
  const email = `web-sess-${Date.now()}@example.com`
  const reg = await api('/auth/register', { method: 'POST', body: { email, password: 'web-test-password-3', name: '会话', role: 'citizen' }, headers: { 'x-forwarded-for': '10.77.0.4' } })
  assert.equal(reg.status, 201)
  await page.goto(BASE + '/robots.txt')
  await page.evaluate(() => localStorage.setItem('bangfu.auth', JSON.stringify({ access_token: 'x.y.z', refresh_token: 'revoked', token_type: 'Bearer', expires_in: 900 })))
  await page.goto(BASE + '/orders')
  await page.waitForURL(/\/login\?redirect=(%2F|\/)orders/)
  await page.getByRole('textbox', { name: '邮箱' }).fill(email)
  await page.getByRole('textbox', { name: '密码' }).fill('web-test-password-3')
  await page.getByRole('button', { name: '登录', exact: true }).click()
  await page.waitForURL(/\/orders$/)
  await page.getByText('这里还没有订单').waitFor()
  await page.close()
}

tests.budget = async () => {
  // Figures for the budget: JavaScript of the first view of / (gzip),
  // and the first product card visible after navigation.
  const page = await newPage()
  const js = new Set()
  page.on('response', (r) => { if (r.url().endsWith('.js')) js.add(new URL(r.url()).pathname) })
  // From the navigation's start (the page's own clock) to the card seen
  // visible, not to the load event goto waits for by default.
  // (The wall clock from goto's call is printed beside it.)
  const t0 = Date.now()
  await page.goto(BASE + '/', { waitUntil: 'commit' })
  await page.getByRole('article').first().waitFor()
  const cardMs = Math.round(await page.evaluate(() => performance.now()))
  const wallMs = Date.now() - t0
  await page.waitForLoadState('networkidle')
  let gz = 0
  for (const path of js) {
    const r = await fetch(BASE + path, { headers: { 'accept-encoding': 'gzip' } })
    gz += Number(r.headers.get('content-length'))
    await r.arrayBuffer()
  }
  notes.push(`first view of /: ${js.size} scripts, ${(gz / 1024).toFixed(1)} kB gzipped; first product card visible after ${cardMs} ms (${wallMs} ms from goto)`)
  assert.ok(gz <= 150 * 1024, `first-view JavaScript ${gz} bytes gzipped`)
  await page.close()
}

// ------------------------------------------------------------ runner

const only = process.argv.slice(2)
const userData = mkdtempSync(join(tmpdir(), 'bangfu-web-'))
ctx = await chromium.launchPersistentContext(userData, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  viewport: PHONE,
  locale: 'zh-CN',
  timezoneId: 'Asia/Shanghai',
  // A client address of our own: the API tests' login limits are not ours.
  extraHTTPHeaders: { 'x-forwarded-for': '10.77.0.1' },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
ctx.setDefaultTimeout(15000)
let failed = 0
let passed = 0
for (const [name, fn] of Object.entries(tests)) {
  if (only.length && !only.includes(name)) continue
  const t0 = Date.now()
  try {
    await fn()
    passed++
    console.log(`web: ok   ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    failed++
    console.log(`web: FAIL ${name}: ${e.message}`)
    for (const p of ctx.pages()) {
      await p.screenshot({ path: join(SHOTS, `FAIL-${name}.png`), fullPage: true }).catch(() => {})
      console.log(`  at ${p.url()}`)
    }
  }
  for (const p of ctx.pages()) await p.close().catch(() => {})
}
await ctx.close()
rmSync(userData, { recursive: true, force: true })
for (const n of notes) console.log('web: note: ' + n)
if (axeFindings.length) {
  console.log(`web: axe: ${axeFindings.length} serious or critical finding(s):`)
  for (const f of axeFindings) console.log(`  ${f.page}: ${f.impact} ${f.id} (${f.help}) ${f.nodes.join(', ')}`)
  failed++
} else {
  console.log('web: axe: no serious or critical violation on any page')
}
console.log(`web: ${passed} passed, ${failed ? failed + ' failed' : '0 failed'}; screenshots in ${SHOTS}`)
process.exit(failed ? 1 : 0)
