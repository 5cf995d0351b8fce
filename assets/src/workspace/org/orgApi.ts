// 企业采购's calls beyond the organisation itself (../api.ts has that):
// bulk orders, their CSV of recipients, approval, placement and payment,
// the year's report and certificate, and the public check of a
// certificate.  Types are the generated ones (./contract.ts aliases
// src/api/schema.d.ts, from assets/api/openapi.yaml).
import { reactive } from 'vue'
import { request, idempotencyKey } from '../../api'
import { op, type Ok, type S } from '../contract'
import { ws, type Org, type OrgItem, type OrgRole } from '../api'

export type BulkOrder = S['BulkOrder']
export type BulkStatus = BulkOrder['status']
export type Purpose = BulkOrder['purpose']
export type Quote = BulkOrder['quote']
export type BulkList = Ok<'bulkList'>
export type Recipients = Ok<'bulkRecipients'>
export type Placed = Ok<'bulkPlace'>
export type BulkPayment = Ok<'bulkPay'>
export type Report = Ok<'orgReport'>
export type Certificate = Ok<'orgCertificate'>
export type Verified = Ok<'certificateVerify'>

export const PURPOSE: Record<Purpose, string> = {
  welfare: '职工福利',
  meeting_supply: '会务用品',
  canteen: '食堂采购',
  other: '其他',
}
export const BULK_STATUS: Record<BulkStatus, string> = {
  draft: '草稿',
  submitted: '待审批',
  approved: '已批准',
  rejected: '已驳回',
  placed: '已下单',
}
export const TRAIL_ACTION: Record<string, string> = {
  create: '创建草稿',
  recipients_replaced: '导入收货人',
  submit: '提交',
  approve: '批准',
  reject: '驳回',
  requote: '价格变动，重新报价',
  place: '下单',
}
export const ORG_ROLE: Record<string, string> = { buyer: '采购员', approver: '审批人', admin: '管理员' } satisfies Record<OrgRole, string>

const B = (org: number, bid?: number) => '/orgs/' + org + '/bulk-orders' + (bid ? '/' + bid : '')

export const bulk = {
  create: (org: number, purpose: Purpose) =>
    op('bulkCreate', 'POST', B(org), { body: { purpose, recipients: [] } }),
  list: (org: number, status?: BulkStatus, page = 1, perPage = 20) =>
    op('bulkList', 'GET', B(org), { query: { status, page, per_page: perPage } }),
  get: (org: number, bid: number) => op('bulk', 'GET', B(org, bid)),
  recipients: (org: number, bid: number, page = 1, perPage = 20) =>
    op('bulkRecipients', 'GET', B(org, bid) + '/recipients', { query: { page, per_page: perPage } }),
  /** The CSV file as it is (UTF-8): the draft, or 422 with each bad row's line. */
  uploadCsv: (org: number, bid: number, csv: string) =>
    request<Ok<'bulkCsv'>>(B(org, bid) + '/recipients.csv', { method: 'POST', text: { type: 'text/csv; charset=utf-8', data: csv } }),
  submit: (org: number, bid: number) => op('bulkSubmit', 'POST', B(org, bid) + '/submit'),
  approve: (org: number, bid: number) => op('bulkApprove', 'POST', B(org, bid) + '/approve'),
  reject: (org: number, bid: number, reason: string) =>
    op('bulkReject', 'POST', B(org, bid) + '/reject', { body: { reason } }),
  place: (org: number, bid: number, key: string) => op('bulkPlace', 'POST', B(org, bid) + '/place', { idem: key }),
  pay: (org: number, bid: number, key: string) =>
    op('bulkPay', 'POST', B(org, bid) + '/payments', { body: { provider: 'sandbox' }, idem: key }),
  report: (org: number, year: number) => op('orgReport', 'GET', '/orgs/' + org + '/report/' + year),
  certificate: (org: number, year: number) => op('orgCertificate', 'GET', '/orgs/' + org + '/certificates/' + year),
  verify: (token: string) => op('certificateVerify', 'GET', '/certificates/verify', { query: { token }, auth: false }),
}

export { idempotencyKey }

// ------------------------------------------------------------ the organisation in use

const KEY = 'bangfu.org'

/** The organisations of the person and the one the pages work on. */
export const orgState = reactive<{ orgs: OrgItem[]; cur: Org | null; loaded: boolean }>({ orgs: [], cur: null, loaded: false })

export async function loadOrg(pick?: number): Promise<Org | null> {
  orgState.orgs = (await ws.orgs()).items
  let id = pick ?? Number(localStorage.getItem(KEY) ?? 0)
  if (!orgState.orgs.some((o) => o.id === id)) id = orgState.orgs[0]?.id ?? 0
  orgState.cur = id ? await ws.org(id) : null
  if (id) localStorage.setItem(KEY, String(id))
  orgState.loaded = true
  return orgState.cur
}

export function hasRole(...roles: OrgRole[]): boolean {
  return roles.some((r) => orgState.cur?.my_roles.includes(r) ?? false)
}

/** Shanghai's year now. */
export function yearSH(): number {
  return new Date(Date.now() + 8 * 3600 * 1000).getUTCFullYear()
}
