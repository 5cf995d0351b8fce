// The workspaces' calls (商家中心, 运营后台, 企业采购), over the shop's one
// transport (../api.ts: tokens, refresh, problem+json).  Every type is an
// alias of the contract's generated ones (./contract.ts): no API shape is
// written by hand here.
import { request } from '../api'
import { op, type Body, type Item, type Ok, type Query, type S } from './contract'

// 商家中心
export type Listing = S['VendorProduct']
export type VendorBatch = S['Batch']
export type ListingInput = Body<'vendorProductUpdate'>
/** What a vendor sends of a certification: the answer's `valid` is the server's. */
export type CertificationInput = NonNullable<ListingInput['certifications']>[number]
export type BatchInput = Body<'vendorBatchAdd'>
type StockBody = Body<'vendorProductStock'>
/** A new stock, or a change by a delta: one of the two (the document's oneOf). */
export type StockInput = Required<Pick<StockBody, 'stock'>> | Required<Pick<StockBody, 'delta'>>
export type VendorApply = Body<'vendorApply'>
export type VendorPart = S['VendorPart']
export type PartStatus = NonNullable<Query<'vendorOrders'>['status']>
export type PartRecipient = Item<'vendorPartRecipients'>
export type Statement = Ok<'vendorStatement'>
export type StatementLine = Statement['lines'][number]
export type ServiceSession = S['Session']
export type SessionInput = Body<'vendorSessionCreate'>
export type SessionPatch = Body<'vendorSessionUpdate'>
export type Redeemed = Ok<'vendorVoucherRedeem'>

// 运营后台
export type AdminVendor = S['AdminVendor']
export type VendorStatus = NonNullable<Query<'adminVendors'>['status']>
export type Review = Body<'vendorReview'>
export type CreditInput = Body<'vendorCredit'>
export type Ledger = Ok<'ledger'>
export type LedgerRow = Ledger['rows'][number]
export type LedgerGroup = Query<'ledger'>['group_by']

// 企业采购
export type Org = S['Org']
export type OrgMember = Org['members'][number]
/** An organisation as GET /orgs lists it (the caller's). */
export type OrgItem = Item<'orgs'>
export type OrgInput = Body<'orgCreate'>
export type OrgKind = OrgInput['kind']
export type OrgRole = Body<'orgMemberInvite'>['role']
export type Plan = S['Plan']
export type PlanInput = Body<'planPut'>
/** An invitation to an organisation, as GET /me/invitations lists it. */
export type Invitation = S['Invitation']

const P = (id: number) => '/vendor/products/' + id

export const ws = {
  // 商家中心
  applyVendor: (v: VendorApply) => op('vendorApply', 'POST', '/vendors', { body: v }),
  listings: (page = 1, perPage = 20) => op('vendorProducts', 'GET', '/vendor/products', { query: { page, per_page: perPage } }),
  listing: (id: number) => op('vendorProduct', 'GET', P(id)),
  createListing: (l: Body<'vendorProductCreate'>) => op('vendorProductCreate', 'POST', '/vendor/products', { body: l }),
  updateListing: (id: number, l: ListingInput) => op('vendorProductUpdate', 'PATCH', P(id), { body: l }),
  publish: (id: number) => op('vendorProductPublish', 'POST', P(id) + '/publish'),
  unpublish: (id: number) => op('vendorProductUnpublish', 'POST', P(id) + '/unpublish'),
  setStock: (id: number, v: StockInput) => op('vendorProductStock', 'PUT', P(id) + '/stock', { body: v }),
  addBatch: (id: number, b: BatchInput) => op('vendorBatchAdd', 'POST', P(id) + '/batches', { body: b }),
  vendorOrders: (status: PartStatus | undefined, page = 1, perPage = 20) =>
    op('vendorOrders', 'GET', '/vendor/orders', { query: { status, page, per_page: perPage } }),
  ship: (partId: number, carrier: string, tracking_no: string) =>
    op('vendorShip', 'POST', '/vendor/orders/' + partId + '/ship', { body: { carrier, tracking_no } }),
  recipients: (partId: number) => op('vendorPartRecipients', 'GET', '/vendor/orders/' + partId + '/recipients'),
  sessions: (pid: number) => op('vendorSessions', 'GET', P(pid) + '/sessions'),
  openSession: (pid: number, s: SessionInput) => op('vendorSessionCreate', 'POST', P(pid) + '/sessions', { body: s }),
  updateSession: (sid: number, s: SessionPatch) => op('vendorSessionUpdate', 'PATCH', '/vendor/sessions/' + sid, { body: s }),
  redeem: (code: string) => op('vendorVoucherRedeem', 'POST', '/vendor/vouchers/' + encodeURIComponent(code) + '/redeem'),
  statement: (from: string, to: string) => op('vendorStatement', 'GET', '/vendor/statement', { query: { from, to } }),

  // 运营后台
  adminVendors: (status: VendorStatus | undefined, page = 1, perPage = 20) =>
    op('adminVendors', 'GET', '/admin/vendors', { query: { status, page, per_page: perPage } }),
  review: (id: number, r: Review) => op('vendorReview', 'POST', '/admin/vendors/' + id + '/review', { body: r }),
  creditEvent: (id: number, e: CreditInput) => op('vendorCredit', 'POST', '/admin/vendors/' + id + '/credit-events', { body: e }),
  ledger: (from: string, to: string, group_by: LedgerGroup) => op('ledger', 'GET', '/admin/ledger', { query: { from, to, group_by } }),
  // The same operation's text/csv answer, as a Blob (its BOM kept).
  ledgerCsv: (from: string, to: string, group_by: LedgerGroup) =>
    request<Blob>('/admin/ledger', { query: { from, to, group_by } satisfies Query<'ledger'>, accept: 'text/csv' }),

  // 企业采购
  createOrg: (o: OrgInput) => op('orgCreate', 'POST', '/orgs', { body: o }),
  orgs: () => op('orgs', 'GET', '/orgs'),
  org: (id: number) => op('org', 'GET', '/orgs/' + id),
  invite: (id: number, email: string, role: OrgRole) => op('orgMemberInvite', 'POST', '/orgs/' + id + '/members', { body: { email, role } }),
  invitations: () => op('myInvitations', 'GET', '/me/invitations'),
  answerInvitation: (id: number, accept: boolean) =>
    accept
      ? op('invitationAccept', 'POST', '/me/invitations/' + id + '/accept')
      : op('invitationDecline', 'POST', '/me/invitations/' + id + '/decline'),
  removeMember: (id: number, user: number) => op('orgMemberRemove', 'DELETE', '/orgs/' + id + '/members/' + user),
  removeRole: (id: number, user: number, role: OrgRole) =>
    op('orgMemberRoleRemove', 'DELETE', '/orgs/' + id + '/members/' + user + '/roles/' + role),
  setPlan: (id: number, year: number, p: PlanInput) => op('planPut', 'PUT', '/orgs/' + id + '/plan/' + year, { body: p }),
}

/** Saves a Blob as a file (CSV downloads). */
export function saveBlob(b: Blob, name: string) {
  const url = URL.createObjectURL(b)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

/** Rows as CSV (RFC 4180 quoting) with a UTF-8 BOM, for Excel. */
export function csvBlob(rows: (string | number | null)[][]): Blob {
  const cell = (v: string | number | null) => {
    let t = v === null ? '' : String(v)
    if (typeof v === 'string' && /^[=+\-@]/.test(t)) t = "'" + t // no formulas in Excel
    return /[",\r\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t
  }
  return new Blob(['\ufeff' + rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' })
}

/** Today in Shanghai, 'YYYY-MM-DD'. */
export function todaySH(): string {
  const d = new Date(Date.now() + 8 * 3600 * 1000)
  return d.toISOString().slice(0, 10)
}
