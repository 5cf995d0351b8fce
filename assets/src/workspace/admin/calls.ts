// 运营后台's rules and traffic calls, and the vendor's own record, typed
// from the contract (./contract.ts aliases src/api/schema.d.ts).  Kept
// beside workspace/api.ts so that each workspace's additions stay in its
// own file.
import { op, type Body, type Item, type Ok, type S } from '../contract'

export type FeeRule = S['FeeRule']
export type FeeRuleVersion = S['FeeRuleVersion']
export type FeeRuleInput = Body<'feeRuleCreate'>
export type FeeRulePatch = Body<'feeRuleUpdate'>
export type BoostRule = S['BoostRule']
export type BoostRuleInput = Body<'boostRuleCreate'>
export type BoostRulePatch = Body<'boostRuleUpdate'>
export type AdminCampaign = S['AdminCampaign']
export type CampaignInput = Body<'campaignCreate'>
export type CampaignPatch = Body<'campaignUpdate'>
export type CreditEvent = Item<'vendorCreditEvents'>
export type CreditEvents = Ok<'vendorCreditEvents'>
export type VendorRecord = S['VendorRecord']
export type Bxbp = Ok<'bxbpDesignate'>

const FR = '/admin/fee-rules/'
const BR = '/admin/boost-rules/'

export const adm = {
  feeRules: () => op('feeRules', 'GET', '/admin/fee-rules'),
  createFeeRule: (r: FeeRuleInput) => op('feeRuleCreate', 'POST', '/admin/fee-rules', { body: r }),
  updateFeeRule: (id: number, r: FeeRulePatch) => op('feeRuleUpdate', 'PATCH', FR + id, { body: r }),
  feeRuleHistory: (id: number) => op('feeRuleHistory', 'GET', FR + id + '/history'),

  boostRules: () => op('boostRules', 'GET', '/admin/boost-rules'),
  createBoostRule: (r: BoostRuleInput) => op('boostRuleCreate', 'POST', '/admin/boost-rules', { body: r }),
  updateBoostRule: (id: number, r: BoostRulePatch) => op('boostRuleUpdate', 'PATCH', BR + id, { body: r }),

  campaigns: () => op('adminCampaigns', 'GET', '/admin/campaigns'),
  createCampaign: (c: CampaignInput) => op('campaignCreate', 'POST', '/admin/campaigns', { body: c }),
  updateCampaign: (slug: string, c: CampaignPatch) =>
    op('campaignUpdate', 'PATCH', '/admin/campaigns/' + encodeURIComponent(slug), { body: c }),

  designateBxbp: (productId: number) => op('bxbpDesignate', 'POST', '/admin/products/' + productId + '/bxbp'),
  revokeBxbp: (productId: number) => op('bxbpRevoke', 'DELETE', '/admin/products/' + productId + '/bxbp'),

  creditEvents: (vendorId: number, page = 1, perPage = 20) =>
    op('vendorCreditEvents', 'GET', '/admin/vendors/' + vendorId + '/credit-events', { query: { page, per_page: perPage } }),

  // 商家中心: the vendor's own record
  vendorProfile: () => op('vendorProfile', 'GET', '/vendor/profile'),
}

/** A percentage as typed ("3", "2.5", "0.25") → basis points, by integer arithmetic; NaN if malformed. */
export function pctToBps(t: string): number {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(t.trim())
  if (!m) return NaN
  return parseInt(m[1], 10) * 100 + parseInt((m[2] ?? '').padEnd(2, '0'), 10)
}

/** Basis points as the text of a percentage ("2.50"). */
export function bpsText(b: number): string {
  return `${Math.trunc(b / 100)}.${String(b % 100).padStart(2, '0')}`
}

/** RFC 3339 from a picker's value (an ISO string with offset) or null. */
export function rfc(v: string | null | undefined): string | null {
  return v ? new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z') : null
}

const KIND: Record<string, string> = { enterprise: '企业', cooperative: '合作社', individual: '个体' }
/** A rule's match in words. */
export function matchText(m: Record<string, unknown> | undefined, regionName: (c: string) => string, categoryName: (c: string) => string): string {
  if (!m) return '全部'
  const out: string[] = []
  if (m.qualified === true) out.push('合格扶贫企业')
  if (m.qualified === false) out.push('非合格企业')
  if (m.poverty_county === true) out.push('脱贫县')
  if (m.poverty_county === false) out.push('非脱贫县')
  if (typeof m.vendor_kind === 'string') out.push(KIND[m.vendor_kind] ?? m.vendor_kind)
  if (typeof m.region === 'string') out.push(regionName(m.region))
  if (typeof m.category === 'string') out.push(categoryName(m.category))
  if (typeof m.vendor_id === 'number') out.push('商家 #' + m.vendor_id)
  if (m.bxbp === true) out.push('百县百品')
  if (m.bxbp === false) out.push('非百县百品')
  if (Array.isArray(m.product_ids) && m.product_ids.length) out.push('商品 #' + m.product_ids.join('、#'))
  return out.length ? out.join(' · ') : '全部'
}

/** An API time as a date picker's value: 'YYYY-MM-DDTHH:mm:ss+08:00' (Shanghai). */
export function toPicker(iso: string | null | undefined): string | null {
  if (!iso) return null
  const d = new Date(new Date(iso).getTime() + 8 * 3600 * 1000)
  return d.toISOString().slice(0, 19) + '+08:00'
}
