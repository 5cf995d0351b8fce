// Money, dates and the labels' words.  Money is integer fen, shown by
// integer arithmetic only (never a float).

/** 6880 → { yuan: '68', fen: '80' }; negative amounts keep their sign. */
export function splitFen(fen: number): { sign: string; yuan: string; fen: string } {
  const n = Math.trunc(fen)
  const sign = n < 0 ? '-' : ''
  const a = Math.abs(n)
  const y = Math.trunc(a / 100)
  const f = a - y * 100
  return { sign, yuan: String(y).replace(/\B(?=(\d{3})+(?!\d))/g, ','), fen: String(f).padStart(2, '0') }
}

/** 6880 → '¥68.80' */
export function yuan(fen: number): string {
  const s = splitFen(fen)
  return `${s.sign}¥${s.yuan}.${s.fen}`
}

/** 2613 basis points → '26.13%' */
export function bps(v: number): string {
  const a = Math.abs(Math.trunc(v))
  return (v < 0 ? '-' : '') + Math.trunc(a / 100) + '.' + String(a % 100).padStart(2, '0') + '%'
}

const SH = 8 * 3600 * 1000 // Asia/Shanghai, no daylight saving

function shanghai(iso: string): Date {
  return new Date(new Date(iso).getTime() + SH)
}
const p2 = (n: number) => String(n).padStart(2, '0')

/** '2026-12-02' in Shanghai time (a date-only string is kept as it is). */
export function day(iso: string | null | undefined): string {
  if (!iso) return ''
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso
  const d = shanghai(iso)
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`
}

/** '2026-12-02 14:32' in Shanghai time. */
export function minute(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = shanghai(iso)
  return `${day(iso)} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}`
}

export const LABELS: Record<string, { name: string; help: string }> = {
  bxbp: { name: '百县百品', help: '对口地区每个贫困县经评定的一个代表性产品，由运营方认定。' },
  poverty_county: { name: '贫困县', help: '产自对口地区的贫困县（含已脱贫摘帽县），购买直接带动当地增收。' },
  qualified_vendor: { name: '合格扶贫企业', help: '经平台审核、资质在有效期内的扶贫企业或合作社。' },
  gi: { name: '地理标志', help: '农产品地理标志：产地环境和生产方式决定了它的品质。' },
  green: { name: '绿色食品', help: '获得绿色食品认证，在有效期内。' },
  organic: { name: '有机', help: '获得有机产品认证，在有效期内。' },
}

export const CERTS: Record<string, string> = { gi: '地理标志', green: '绿色食品', organic: '有机产品' }

export const ORDER_STATUS: Record<string, string> = {
  pending_payment: '待付款',
  paid: '已支付',
  shipped: '已发货',
  completed: '已完成',
  cancelled: '已取消',
  refunded: '已退款',
}

export const PART_STATUS: Record<string, string> = {
  pending: '待付款',
  paid: '待发货',
  shipped: '已发货',
  cancelled: '已取消',
  refunded: '已退款',
  completed: '已完成',
}

/** A booking's order (a service booked by the date): no goods' words. */
export const BOOKING_STATUS: Record<string, string> = {
  pending_payment: '待付款',
  paid: '已预约',
  shipped: '已预约',
  completed: '已完成',
  cancelled: '已取消',
  refunded: '已退款',
}

export const BOOKING_PART_STATUS: Record<string, string> = {
  pending: '待付款',
  paid: '待服务',
  shipped: '待服务',
  cancelled: '已取消',
  refunded: '已退款',
  completed: '已完成',
}

export const VENDOR_KIND: Record<string, string> = { enterprise: '企业', cooperative: '合作社', individual: '个体' }

/** The tier price for a quantity: the last tier whose min_qty it reaches. */
export function tierPrice(tiers: { min_qty: number; unit_price_fen: number }[], base: number, qty: number): number {
  let p = base
  for (const t of [...tiers].sort((a, b) => a.min_qty - b.min_qty)) if (qty >= t.min_qty) p = t.unit_price_fen
  return p
}

/** Chinese words for the API's field messages. */
export function fieldMessage(field: string, message: string): string {
  const f = field.replace(/^address\./, '')
  const words: Record<string, string> = {
    email: '请输入有效的邮箱地址',
    password: '密码至少 10 个字符',
    name: '请填写姓名',
    phone: '请输入 11 位手机号',
    province: '请选择省市区',
    city: '请选择省市区',
    district: '请选择省市区',
    line: '请填写详细地址',
    note: '备注过长',
  }
  return words[f] ?? message
}

/** '68.8' → 6880; '' → undefined; anything else → NaN.  No floats. */
export function yuanToFen(s: string): number | undefined {
  const t = s.trim()
  if (t === '') return undefined
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(t)
  if (!m) return NaN
  return parseInt(m[1], 10) * 100 + parseInt((m[2] ?? '').padEnd(2, '0'), 10)
}

export const CATEGORIES: { code: string; name: string }[] = [
  { code: 'tea', name: '茶叶' },
  { code: 'nuts', name: '坚果干果' },
  { code: 'fruit', name: '生鲜水果' },
  { code: 'grain', name: '米面粮油' },
  { code: 'meat', name: '肉禽蛋品' },
  { code: 'herbs', name: '滋补药材' },
  { code: 'specialty', name: '地方特产' },
  { code: 'craft', name: '文创手工' },
  { code: 'tourism', name: '乡村旅游' },
  { code: 'wellness', name: '康养服务' },
]

export const REGIONS: { code: string; name: string }[] = [
  { code: 'yunnan', name: '云南' },
  { code: 'zunyi', name: '贵州遵义' },
  { code: 'kashgar', name: '新疆喀什' },
  { code: 'shigatse', name: '西藏日喀则' },
  { code: 'golog', name: '青海果洛' },
]
