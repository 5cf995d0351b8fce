// The shop's one API client, over /api/v1 (../shared/API.md).  The types are
// all here, in one place, so that moving onto the types generated from the
// OpenAPI document is a change of this file only.  Pages never build URLs.
//
// It keeps the tokens and the guest cart token in localStorage, attaches
// them, refreshes an expired access token once (one refresh at a time), and
// turns problem+json into ApiError (field errors included).

// ---------------------------------------------------------------- types

export interface Named { code: string; name: string }
export interface County extends Named { is_poverty_county?: boolean }
export interface Page<T> { items: T[]; page: number; per_page: number; total: number }

export type Label = 'bxbp' | 'poverty_county' | 'qualified_vendor' | 'gi' | 'green' | 'organic' | string

export interface ProductSummary {
  id: number
  title: string
  description: string
  kind: 'goods' | 'service'
  unit: string
  price_fen: number
  category?: Named
  region: Named
  county: County
  vendor: { id: number; name: string; qualified: boolean }
  labels: Label[]
  bxbp: boolean
  sales?: number
  image: string | null
}

export interface Certification { kind: string; number: string; valid_until: string; valid?: boolean }
export interface Batch { code: string; trace_code: string; produced_on: string }
export interface PriceTier { min_qty: number; unit_price_fen: number }

export interface Product extends Omit<ProductSummary, 'image' | 'vendor'> {
  price_tiers: PriceTier[]
  stock: number
  vendor: { id: number; name: string; qualified: boolean; credit_level?: string; kind?: string }
  certifications: Certification[]
  batches: Batch[]
  images: string[]
}

export interface Region extends Named { kind: string; county_count: number; product_count: number }
export interface RegionDetail extends Named { kind: string; intro?: string; counties: County[] }

export interface VendorPublic {
  id: number
  name: string
  kind: string
  county: Named
  region: Named
  qualified: boolean
  qualified_until: string | null
  credit_score: number
  credit_level: string
  poor_households_linked?: number
}

export interface RegionShop {
  region: RegionDetail
  featured: ProductSummary[]
  vendors: VendorPublic[]
  categories: (Named & { product_count: number })[]
}

export interface Campaign {
  slug: string
  title: string
  theme: string
  starts_at: string
  ends_at: string
  active?: boolean
  products?: ProductSummary[]
}

export interface Channel { campaigns: Campaign[]; sections: { title: string; items: ProductSummary[] }[] }

export interface Trace {
  code: string
  product: { id: number; title: string; listed?: boolean }
  vendor: { id: number; name: string; qualified: boolean }
  county: County
  region?: Named
  batch: {
    code: string
    produced_on: string
    base: string
    inspection: { result: string; report_no: string; inspected_on: string } | null
  }
}

export interface Impact {
  year: number
  regions: {
    code: string
    name: string
    gmv_fen: number
    orders: number
    poverty_county_share_bps: number
    households_linked: number
  }[]
}

export interface CartLine {
  product_id: number
  title: string
  vendor_id: number
  unit_price_fen: number
  qty: number
  line_total_fen: number
  available: boolean
}
export interface Cart { cart_token: string | null; items: CartLine[]; item_count: number; subtotal_fen: number }

export interface Address { name: string; phone: string; province: string; city: string; district: string; line: string }

export type OrderStatus = 'pending_payment' | 'paid' | 'shipped' | 'completed' | 'cancelled' | 'refunded'
export interface OrderItem {
  product_id: number
  title?: string
  qty: number
  unit_price_fen: number
  line_total_fen: number
}
export interface Shipment { carrier: string; tracking_no: string; shipped_at?: string }
export interface OrderPart {
  id: number
  vendor_id: number
  vendor_name?: string
  status: string
  subtotal_fen: number
  shipped_at?: string | null
  shipments?: Shipment[]
  carrier?: string | null
  tracking_no?: string | null
  items: OrderItem[]
}
export interface Order {
  id: number
  order_no: string
  status: OrderStatus
  total_fen: number
  address?: Address
  note?: string
  pay_before: string | null
  paid_at?: string | null
  created_at?: string
  parts: OrderPart[]
}

export interface Payment {
  payment_id: number
  provider: string
  amount_fen: number
  status: string
  pay_url?: string
}

export interface Me { id: number; email: string; name: string; role: string; org_ids?: number[]; vendor_id?: number | null }
export interface Tokens { access_token: string; refresh_token: string; token_type: string; expires_in: number }

export interface ProductQuery {
  q?: string
  region?: string
  county?: string
  category?: string
  vendor?: number
  label?: string
  certification?: string
  min_price_fen?: number
  max_price_fen?: number
  sort?: 'relevance' | 'price_asc' | 'price_desc' | 'newest' | 'sales'
  page?: number
  per_page?: number
}

// ---------------------------------------------------------------- errors

export interface FieldError { field: string; message: string; available?: number; requested?: number; product_id?: number }

export class ApiError extends Error {
  status: number
  code: string
  detail: string
  errors: FieldError[]
  constructor(status: number, code: string, detail: string, errors: FieldError[] = []) {
    super(detail || code)
    this.status = status
    this.code = code
    this.detail = detail
    this.errors = errors
  }
  /** Network loss, a 5xx or a 429: the same request may succeed later. */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429
  }
  /** The first error for a field, or undefined. */
  field(name: string): FieldError | undefined {
    return this.errors.find((e) => e.field === name)
  }
}

// ---------------------------------------------------------------- storage

const AUTH_KEY = 'bangfu.auth'
const CART_KEY = 'bangfu.cart'

function load<T>(key: string): T | null {
  try {
    const v = localStorage.getItem(key)
    return v ? (JSON.parse(v) as T) : null
  } catch {
    return null
  }
}
function save(key: string, v: unknown) {
  try {
    if (v === null) localStorage.removeItem(key)
    else localStorage.setItem(key, JSON.stringify(v))
  } catch {
    /* private mode: the session lasts as long as the page */
  }
}

let tokens: Tokens | null = load<Tokens>(AUTH_KEY)
let cartToken: string | null = load<string>(CART_KEY)
const authListeners: ((signedIn: boolean) => void)[] = []

export function signedIn(): boolean {
  return tokens !== null
}
export function onAuthChange(fn: (signedIn: boolean) => void) {
  authListeners.push(fn)
}
function setTokens(t: Tokens | null) {
  const was = tokens !== null
  tokens = t
  save(AUTH_KEY, t)
  if (was !== (t !== null)) authListeners.forEach((fn) => fn(t !== null))
}
function setCartToken(t: string | null) {
  cartToken = t
  save(CART_KEY, t)
}

/** One key per attempt: the caller keeps it for retries of that attempt. */
export function idempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

// ---------------------------------------------------------------- transport

const BASE = '/api/v1'

interface Opts {
  method?: string
  body?: unknown
  query?: Record<string, string | number | undefined | null>
  idem?: string
  auth?: boolean // send the bearer token (default: when signed in)
  retried?: boolean
  text?: { type: string; data: string } // a body that is not JSON (CSV uploads)
  accept?: string // another answer than JSON (CSV): returned as a Blob
}

function qs(query?: Opts['query']): string {
  if (!query) return ''
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  }
  const s = p.toString()
  return s ? '?' + s : ''
}

let refreshing: Promise<boolean> | null = null

async function refresh(): Promise<boolean> {
  if (!tokens) return false
  if (!refreshing) {
    const rt = tokens.refresh_token
    refreshing = (async () => {
      try {
        const r = await fetch(BASE + '/auth/refresh', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: rt }),
        })
        if (r.ok) {
          setTokens((await r.json()) as Tokens)
          return true
        }
        if (r.status === 401) setTokens(null) // revoked: sign out, keep the cart
        return false
      } catch {
        return false
      } finally {
        refreshing = null
      }
    })()
  }
  return refreshing
}

async function call<T>(path: string, o: Opts = {}): Promise<T> {
  const headers: Record<string, string> = { accept: o.accept ?? 'application/json' }
  if (o.body !== undefined) headers['content-type'] = 'application/json'
  if (o.text) headers['content-type'] = o.text.type
  if (o.idem) headers['idempotency-key'] = o.idem
  const useAuth = o.auth !== false && tokens !== null
  if (useAuth) headers.authorization = 'Bearer ' + tokens!.access_token
  else if (cartToken) headers['x-cart-token'] = cartToken
  let r: Response
  try {
    r = await fetch(BASE + path + qs(o.query), {
      method: o.method ?? 'GET',
      headers,
      body: o.text ? o.text.data : o.body !== undefined ? JSON.stringify(o.body) : undefined,
    })
  } catch {
    throw new ApiError(0, 'network', '网络连接失败，请检查网络后重试')
  }
  if (r.status === 401 && useAuth && !o.retried) {
    if (await refresh()) return call<T>(path, { ...o, retried: true })
    setTokens(null)
  }
  if (r.status === 204) return undefined as T
  // Another type than JSON comes back as a Blob, byte for byte (a CSV keeps its BOM).
  if (r.ok && o.accept && !o.accept.includes('json')) return (await r.blob()) as T
  const text = await r.text()
  let data: unknown = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  if (!r.ok) {
    const p = (data ?? {}) as { code?: string; detail?: string; title?: string; errors?: FieldError[] }
    throw new ApiError(r.status, p.code ?? 'http_' + r.status, p.detail ?? p.title ?? r.statusText, p.errors ?? [])
  }
  return data as T
}

// ---------------------------------------------------------------- calls

export const api = {
  // accounts
  async login(email: string, password: string): Promise<void> {
    // The guest cart travels with the login and is merged into the user's.
    const t = await call<Tokens>('/auth/login', { method: 'POST', body: { email, password }, auth: false })
    setTokens(t)
    setCartToken(null)
  },
  register(email: string, password: string, name: string) {
    return call<Me>('/auth/register', { method: 'POST', body: { email, password, name, role: 'citizen' }, auth: false })
  },
  async logout(): Promise<void> {
    try {
      if (tokens) await call<void>('/auth/logout', { method: 'POST' })
    } finally {
      setTokens(null)
    }
  },
  me: () => call<Me>('/me'),

  // catalog
  regions: () => call<{ items: Region[] }>('/regions'),
  regionShop: (code: string) => call<RegionShop>('/regions/' + encodeURIComponent(code) + '/shop'),
  products: (q: ProductQuery) => call<Page<ProductSummary>>('/products', { query: q as Opts['query'] }),
  product: (id: number) => call<Product>('/products/' + id),
  vendor: (id: number) => call<VendorPublic>('/vendors/' + id),
  trace: (code: string) => call<Trace>('/trace/' + encodeURIComponent(code)),
  channel: () => call<Channel>('/channel'),
  impact: () => call<Impact>('/impact'),

  // cart
  async cart(): Promise<Cart> {
    const c = await call<Cart>('/cart')
    if (!tokens && c.cart_token) setCartToken(c.cart_token)
    return c
  },
  async setQty(productId: number, qty: number): Promise<Cart> {
    const c = await call<Cart>('/cart/items/' + productId, { method: 'PUT', body: { qty } })
    if (!tokens && c.cart_token) setCartToken(c.cart_token)
    return c
  },
  removeLine: (productId: number) => call<Cart>('/cart/items/' + productId, { method: 'DELETE' }),

  // orders
  placeOrder: (address: Address, note: string, key: string) =>
    call<Order>('/orders', { method: 'POST', body: { address, note }, idem: key }),
  orders: (page = 1, perPage = 50) => call<Page<Order>>('/orders', { query: { page, per_page: perPage } }),
  order: (id: number) => call<Order>('/orders/' + id),
  pay: (id: number, key: string) =>
    call<Payment>('/orders/' + id + '/payments', {
      method: 'POST',
      body: { provider: 'sandbox', return_url: '/orders/' + id },
      idem: key,
    }),
  cancel: (id: number) => call<Order>('/orders/' + id + '/cancel', { method: 'POST' }),
  confirm: (id: number) => call<Order>('/orders/' + id + '/confirm', { method: 'POST' }),
}

/** The transport, for the workspaces' calls (src/workspace/api.ts). */
export const request = call
export type RequestOpts = Opts
