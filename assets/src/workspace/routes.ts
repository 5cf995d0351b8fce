// The workspaces' routes (商家中心 /vendor, 企业采购 /org, 运营后台 /admin):
// each a lazy chunk with Element Plus, under one lazy layout.  Signing in is
// required (the router's guard sends to 登录 and back); the layout shows
// 无权访问 for a section the person may not use.
import type { RouteRecordRaw } from 'vue-router'

const Layout = () => import('./Layout.vue')
const ws = (key: string, path: string, children: RouteRecordRaw[]): RouteRecordRaw => ({
  path,
  component: Layout,
  meta: { auth: true, ws: key, desk: true },
  children,
})

export const workspaceRoutes: RouteRecordRaw[] = [
  ws('vendor', '/vendor', [
    { path: '', name: 'vendor', component: () => import('./vendor/Entry.vue'), meta: { title: '入驻与资质' } },
    { path: 'products', name: 'vendor-products', component: () => import('./vendor/Products.vue'), meta: { title: '商品管理' } },
    { path: 'products/:id(\\d+)', name: 'vendor-product', component: () => import('./vendor/Product.vue'), meta: { title: '编辑商品' } },
    { path: 'orders', name: 'vendor-orders', component: () => import('./vendor/Orders.vue'), meta: { title: '订单发货' } },
    { path: 'sessions', name: 'vendor-sessions', component: () => import('./vendor/Sessions.vue'), meta: { title: '服务场次' } },
    { path: 'statement', name: 'vendor-statement', component: () => import('./vendor/Statement.vue'), meta: { title: '对账单' } },
  ]),
  // The label sheet prints without the frame.
  { path: '/vendor/products/:id(\\d+)/labels', name: 'vendor-labels', component: () => import('./vendor/Labels.vue'), meta: { auth: true, desk: true, title: '打印溯源标签' } },
  ws('admin', '/admin', [
    { path: '', name: 'admin', component: () => import('./admin/Vendors.vue'), meta: { title: '商家审核' } },
    { path: 'ledger', name: 'admin-ledger', component: () => import('./admin/Ledger.vue'), meta: { title: '帮扶台账' } },
    { path: 'fee-rules', name: 'admin-fee-rules', component: () => import('./admin/FeeRules.vue'), meta: { title: '计费规则' } },
    { path: 'boost', name: 'admin-boost', component: () => import('./admin/Boost.vue'), meta: { title: '流量规则' } },
    { path: 'campaigns', name: 'admin-campaigns', component: () => import('./admin/Campaigns.vue'), meta: { title: '专题活动' } },
    { path: 'bxbp', name: 'admin-bxbp', component: () => import('./admin/Bxbp.vue'), meta: { title: '百县百品' } },
  ]),
  ws('org', '/org', [
    { path: '', name: 'org', component: () => import('./org/Orgs.vue'), meta: { title: '我的组织' } },
    { path: 'bulk', name: 'org-bulks', component: () => import('./org/Bulk.vue'), meta: { title: '批量采购' } },
    { path: 'bulk/new', name: 'org-bulk-new', component: () => import('./org/BulkWizard.vue'), meta: { title: '新建批量采购' } },
    { path: 'bulk/:bid(\\d+)', name: 'org-bulk', component: () => import('./org/BulkWizard.vue'), meta: { title: '批量采购' } },
    { path: 'approvals', name: 'org-approvals', component: () => import('./org/Approvals.vue'), meta: { title: '审批' } },
    { path: 'report', name: 'org-report', component: () => import('./org/Report.vue'), meta: { title: '年度报告' } },
  ]),
  // The certificate prints without the frame.
  { path: '/org/certificate', name: 'org-certificate', component: () => import('./org/Certificate.vue'), meta: { auth: true, desk: true, title: '帮扶证书' } },
]
