// The shop's routes.  Every page but the home page is its own chunk.  The server answers
// index.html for these paths (app/http_static.c keeps the same list) and
// 404 with index.html for any other, where NotFound shows.
import { START_LOCATION, createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { workspaceRoutes } from './workspace/routes'
// The landing page is in the first bundle: no second round of requests
// before it can draw.
import Home from './pages/Home.vue'

const routes: RouteRecordRaw[] = [
  { path: '/', name: 'home', component: Home, meta: { tab: true, title: '帮扶商城' } },
  { path: '/search', name: 'search', component: () => import('./pages/Search.vue'), meta: { title: '搜索' } },
  { path: '/category', name: 'category', component: () => import('./pages/Category.vue'), meta: { tab: true, title: '地区馆' } },
  { path: '/r/:code', name: 'region', component: () => import('./pages/Region.vue'), meta: { title: '地区馆' } },
  { path: '/p/:id(\\d+)', name: 'product', component: () => import('./pages/Product.vue'), meta: { title: '商品详情' } },
  { path: '/trace', name: 'trace-form', component: () => import('./pages/Trace.vue'), meta: { title: '产品溯源' } },
  { path: '/t/:code', name: 'trace', component: () => import('./pages/Trace.vue'), meta: { title: '产品溯源' } },
  { path: '/cart', name: 'cart', component: () => import('./pages/Cart.vue'), meta: { tab: true, title: '购物车' } },
  { path: '/login', name: 'login', component: () => import('./pages/Login.vue'), meta: { title: '登录' } },
  { path: '/register', name: 'register', component: () => import('./pages/Login.vue'), meta: { title: '注册' } },
  { path: '/checkout', name: 'checkout', component: () => import('./pages/Checkout.vue'), meta: { auth: true, title: '确认订单' } },
  { path: '/orders', name: 'orders', component: () => import('./pages/Orders.vue'), meta: { auth: true, title: '我的订单' } },
  { path: '/orders/:id(\\d+)', name: 'order', component: () => import('./pages/Order.vue'), meta: { auth: true, title: '订单详情' } },
  { path: '/me', name: 'me', component: () => import('./pages/Me.vue'), meta: { tab: true, title: '我的' } },
  { path: '/verify', name: 'verify', component: () => import('./pages/Verify.vue'), meta: { title: '证书核验' } },
  { path: '/impact', name: 'impact', component: () => import('./pages/Impact.vue'), meta: { title: '扶贫成效' } },
  // 工作台 (src/workspace): /vendor, /org, /admin
  ...workspaceRoutes,
  { path: '/:rest(.*)*', name: 'notfound', component: () => import('./pages/NotFound.vue'), meta: { title: '页面不存在' } },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  // A page opened afresh is at the top already: no scrollTo then (it forces
  // a layout of the half-built page, 40 ms of the first view on a phone).
  scrollBehavior: (_to, from, saved) => saved ?? (from === START_LOCATION ? false : { top: 0 }),
})

import { signedIn } from './api'

router.beforeEach((to) => {
  if (to.meta.auth && !signedIn()) return { name: 'login', query: { redirect: to.fullPath } }
})
router.afterEach((to) => {
  const t = to.meta.title as string | undefined
  document.title = t && t !== '帮扶商城' ? `${t} · 帮扶商城` : '帮扶商城 · 上海消费扶贫'
})
