// The workspaces' calls (商家中心, 运营后台, 企业采购), over the shop's one
// transport (../api.ts: tokens, refresh, problem+json).  Shapes as in
// API.md and as the server answers them today.
import { request } from '../api'
import type { Page, PriceTier, Certification } from '../api'

export interface VendorBatch {
  id?: number
  code: string
  trace_code: string
  produced_on: string
  base?: string
  inspection?: { result: string; report_no: string; inspected_on: string } | null
}

export interface Listing {
  id: number
  title: string
  description: string
  category: string | null
  kind: 'goods' | 'service'
  unit: string
  price_fen: number
  price_tiers: PriceTier[]
  stock: number
  status: 'draft' | 'listed' | 'unlisted' | string
  images: string[]
  certifications: Certification[]
  batches: VendorBatch[]
  sales?: number
  created_at?: string
  updated_at?: string
}
// What a vendor sends of a certification: the answer's `valid` is the server's.
export type CertificationInput = Pick<Certification, 'kind' | 'number' | 'valid_until'>
export type ListingInput = Partial<
  Pick<Listing, 'title' | 'description' | 'category' | 'kind' | 'unit' | 'price_fen' | 'price_tiers' | 'stock' | 'images'> & {
    certifications: CertificationInput[]
  }
>

export interface VendorApply {
  name: string
  kind: 'enterprise' | 'cooperative' | 'individual'
  county_code: string
  credit_code: string
  poor_households_linked: number
  description: string
}

export interface PartLine {
  product_id: number
  title: string
  qty: number
  unit_price_fen: number
  line_total_fen: number
  fee_fen: number
  fee_waived_fen: number
  fee_rule_id: number | null
}
export interface VendorPart {
  id: number
  order_id: number
  order_no: string
  status: string
  order_status: string
  subtotal_fen: number
  fee_fen: number
  fee_waived_fen: number
  address: { name: string; phone: string; province: string; city: string; district: string; line: string } | null
  created_at: string
  paid_at: string | null
  shipped_at: string | null
  items: PartLine[]
  shipments: { carrier: string; tracking_no: string; shipped_at: string }[] | null
}

export interface PartRecipient {
  recipient_id: number
  name: string
  phone: string
  address: string
  carrier: string | null
  tracking_no: string | null
  shipped_at: string | null
  lines: { product_id: number; qty: number }[]
}

export interface StatementLine extends PartLine {
  order_no: string
  part_id: number
  fee_rule_name: string | null
  paid_at: string
}
export interface Statement {
  from: string
  to: string
  gross_fen: number
  fee_fen: number
  fee_waived_fen: number
  net_fen: number
  lines: StatementLine[]
}

export interface AdminVendor {
  id: number
  name: string
  kind: string
  status: string
  credit_code: string
  county: { code: string; name: string; is_poverty_county?: boolean }
  region: { code: string; name: string }
  poor_households_linked: number
  description: string
  qualified: boolean
  qualified_until: string | null
  credit_score: number
  credit_level: string
  reviewed_at: string | null
  review_reason: string | null
  created_at: string
}

export interface LedgerRow {
  key: string
  name: string
  orders: number
  lines: number
  gmv_fen: number
  poverty_county_gmv_fen: number
  qualified_vendor_gmv_fen: number
  bxbp_gmv_fen: number
  households_linked: number
}
export interface Ledger { rows: LedgerRow[]; totals: Omit<LedgerRow, 'key' | 'name'> }

export interface Plan { year: number; budget_fen: number; reserved_fen: number | null; reserved_share_bps: number | null; reserved_basis?: string; approval_threshold_fen: number }
export interface Org {
  id: number
  name: string
  kind: string
  credit_code?: string
  my_roles: string[]
  members?: { user_id: number; name: string; email: string; roles: string[] }[]
  plans?: Plan[]
}

export interface ServiceSession {
  id: number
  product_id: number
  date: string
  starts_at: string | null
  capacity: number
  booked: number
  available: number
  price_fen: number
  book_until: string
  status: 'open' | 'closed'
}
export interface Redeemed { code: string; booking_id: number; guest_name: string; session: ServiceSession; redeemed_at: string }

const J = (method: string, body?: unknown) => ({ method, body })

export const ws = {
  // 商家中心
  applyVendor: (v: VendorApply) => request<{ id: number; status: string }>('/vendors', J('POST', v)),
  listings: (page = 1, perPage = 20) => request<Page<Listing>>('/vendor/products', { query: { page, per_page: perPage } }),
  listing: (id: number) => request<Listing>('/vendor/products/' + id),
  createListing: (l: ListingInput) => request<Listing>('/vendor/products', J('POST', l)),
  updateListing: (id: number, l: ListingInput) => request<Listing>('/vendor/products/' + id, J('PATCH', l)),
  publish: (id: number) => request<Listing>('/vendor/products/' + id + '/publish', J('POST')),
  unpublish: (id: number) => request<Listing>('/vendor/products/' + id + '/unpublish', J('POST')),
  setStock: (id: number, v: { stock: number } | { delta: number }) => request<Listing>('/vendor/products/' + id + '/stock', J('PUT', v)),
  addBatch: (id: number, b: { code: string; produced_on: string; base: string; inspection?: VendorBatch['inspection'] }) =>
    request<VendorBatch>('/vendor/products/' + id + '/batches', J('POST', b)),
  vendorOrders: (status: string | undefined, page = 1, perPage = 20) =>
    request<Page<VendorPart>>('/vendor/orders', { query: { status, page, per_page: perPage } }),
  ship: (partId: number, carrier: string, tracking_no: string) =>
    request<VendorPart>('/vendor/orders/' + partId + '/ship', J('POST', { carrier, tracking_no })),
  recipients: (partId: number) => request<{ part_id: number; items: PartRecipient[] }>('/vendor/orders/' + partId + '/recipients'),
  sessions: (pid: number) => request<{ product_id: number; items: ServiceSession[] }>('/vendor/products/' + pid + '/sessions'),
  openSession: (pid: number, s: { date: string; capacity: number; price_fen?: number }) =>
    request<ServiceSession>('/vendor/products/' + pid + '/sessions', J('POST', s)),
  updateSession: (sid: number, s: { capacity?: number; status?: 'open' | 'closed' }) => request<ServiceSession>('/vendor/sessions/' + sid, J('PATCH', s)),
  redeem: (code: string) => request<Redeemed>('/vendor/vouchers/' + encodeURIComponent(code) + '/redeem', J('POST')),
  statement: (from: string, to: string) => request<Statement>('/vendor/statement', { query: { from, to } }),

  // 运营后台
  adminVendors: (status: string | undefined, page = 1, perPage = 20) =>
    request<Page<AdminVendor>>('/admin/vendors', { query: { status, page, per_page: perPage } }),
  review: (id: number, r: { decision: 'approve' | 'reject'; qualified_until?: string; reason?: string }) =>
    request<AdminVendor>('/admin/vendors/' + id + '/review', J('POST', r)),
  creditEvent: (id: number, e: { kind: string; points: number; note: string }) =>
    request<AdminVendor>('/admin/vendors/' + id + '/credit-events', J('POST', e)),
  ledger: (from: string, to: string, group_by: string) => request<Ledger>('/admin/ledger', { query: { from, to, group_by } }),
  ledgerCsv: (from: string, to: string, group_by: string) =>
    request<Blob>('/admin/ledger', { query: { from, to, group_by }, accept: 'text/csv' }),

  // 企业采购
  createOrg: (o: { name: string; kind: string; credit_code: string }) => request<Org>('/orgs', J('POST', o)),
  orgs: () => request<{ items: Org[] }>('/orgs'),
  org: (id: number) => request<Org>('/orgs/' + id),
  invite: (id: number, email: string, role: string) => request<{ status: string }>('/orgs/' + id + '/members', J('POST', { email, role })),
  invitations: () => request<{ items: Invitation[] }>('/me/invitations'),
  answerInvitation: (id: number, accept: boolean) =>
    request<unknown>('/me/invitations/' + id + (accept ? '/accept' : '/decline'), J('POST')),
  removeMember: (id: number, user: number) => request<void>('/orgs/' + id + '/members/' + user, J('DELETE')),
  removeRole: (id: number, user: number, role: string) =>
    request<void>('/orgs/' + id + '/members/' + user + '/roles/' + role, J('DELETE')),
  setPlan: (id: number, year: number, p: Record<string, number>) => request<Plan>('/orgs/' + id + '/plan/' + year, J('PUT', p)),
}

/** An invitation to an organisation, as GET /me/invitations lists it. */
export type Invitation = {
  id: number
  org: { id: number; name: string; kind: string }
  role: string
  invited_by?: unknown
  created_at: string
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
