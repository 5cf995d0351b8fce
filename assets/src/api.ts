// The shop's one API client, over /api/v1 (../shared/API.md).  Its types are
// those generated from the OpenAPI document (assets/api/openapi.yaml), given
// the names the pages import in the block below.  Pages never build URLs.
//
// It keeps the tokens and the guest cart token in localStorage, attaches
// them, refreshes an expired access token once (one refresh at a time), and
// turns problem+json into ApiError (field errors included).

// ---------------------------------------------------------------- types
// BEGIN generated-type aliases.  Every response and request type below is an
// alias of the types openapi-typescript generates from the contract
// (assets/api/openapi.yaml -> src/api/schema.d.ts, git-ignored; written by
// `scripts/web.sh build` before vue-tsc).  A contract change that breaks a
// page is a type error there.  Do not write API shapes by hand here.

import type { components, operations } from './api/schema'

type S = components['schemas']
/** The JSON body of an operation's 200 (or 201) answer. */
type Ok<K extends keyof operations> = operations[K] extends {
  responses: { 200: { content: { 'application/json': infer T } } }
}
  ? T
  : operations[K] extends { responses: { 201: { content: { 'application/json': infer T } } } }
    ? T
    : never
/** The JSON request body of an operation. */
type Body<K extends keyof operations> = operations[K] extends {
  requestBody: { content: { 'application/json': infer T } }
}
  ? T
  : never

export type Named = ProductSummary['region']
export type County = S['ProductDetail']['county']
/** The pagination envelope, with its items typed (the document's Page has unknown[] items). */
export type Page<T> = Omit<S['Page'], 'items'> & { items: T[] }
export type ProductPage = Page<NonNullable<S['ProductPage']['items']>[number]>
export type OrderPage = Page<NonNullable<S['OrderPage']['items']>[number]>

export type ProductSummary = S['ProductItem']
export type Label = ProductSummary['labels'][number]
export type Product = S['ProductDetail']
export type Certification = Product['certifications'][number]
export type Batch = Product['batches'][number]
export type PriceTier = Product['price_tiers'][number]

export type Regions = Ok<'regions'>
export type Region = Regions['items'][number]
export type RegionShop = Ok<'regionShop'>
export type RegionDetail = RegionShop['region']
export type VendorPublic = S['VendorProfile']

export type Campaign = S['Campaign']
export type Channel = Ok<'channel'>
export type Trace = Ok<'trace'>
export type Impact = Ok<'impact'>

export type Cart = S['Cart']
export type CartLine = Cart['items'][number]

export type Address = S['Address']
export type Order = S['Order']
export type OrderStatus = Order['status']
export type OrderPart = Order['parts'][number]
export type OrderItem = OrderPart['items'][number]
export type Shipment = OrderPart['shipments'][number]
export type Payment = Ok<'orderPay'>
export type Booking = S['Booking']
export type Voucher = S['Voucher']
export type BookingPage = Ok<'myBookings'>
export type Sessions = Ok<'productSessions'>
export type PublicSession = S['PublicSession']
type BookBody = Body<'bookingCreate'>
export type Guest = BookBody['guests'][number]

export type Me = Ok<'me'>
export type User = Ok<'register'>
export type Tokens = Ok<'login'>

export type ProductQuery = NonNullable<operations['products']['parameters']['query']>
type RegisterBody = Body<'register'>
type CheckoutBody = Body<'checkout'>
type PayBody = Body<'orderPay'>
type QtyBody = Body<'cartItemPut'>
type LoginBody = Body<'login'>

export type Problem = S['Problem']
export type FieldError = NonNullable<Problem['errors']>[number]
// END generated-type aliases.

// ---------------------------------------------------------------- errors


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
    const t = await call<Tokens>('/auth/login', {
      method: 'POST',
      body: { email, password } satisfies LoginBody,
      auth: false,
    })
    setTokens(t)
    setCartToken(null)
  },
  register(email: string, password: string, name: string) {
    return call<User>('/auth/register', {
      method: 'POST',
      body: { email, password, name, role: 'citizen' } satisfies RegisterBody,
      auth: false,
    })
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
  regions: () => call<Regions>('/regions'),
  regionShop: (code: string) => call<RegionShop>('/regions/' + encodeURIComponent(code) + '/shop'),
  products: (q: ProductQuery) => call<ProductPage>('/products', { query: q as Opts['query'] }),
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
    const c = await call<Cart>('/cart/items/' + productId, { method: 'PUT', body: { qty } satisfies QtyBody })
    if (!tokens && c.cart_token) setCartToken(c.cart_token)
    return c
  },
  removeLine: (productId: number) => call<Cart>('/cart/items/' + productId, { method: 'DELETE' }),

  // orders
  placeOrder: (address: Address, note: string, key: string) =>
    call<Order>('/orders', { method: 'POST', body: { address, note } satisfies CheckoutBody, idem: key }),
  orders: (page = 1, perPage = 50) => call<OrderPage>('/orders', { query: { page, per_page: perPage } }),
  order: (id: number) => call<Order>('/orders/' + id),
  pay: (id: number, key: string) =>
    call<Payment>('/orders/' + id + '/payments', {
      method: 'POST',
      body: { provider: 'sandbox', return_url: '/orders/' + id } satisfies PayBody,
      idem: key,
    }),
  cancel: (id: number) => call<Order>('/orders/' + id + '/cancel', { method: 'POST' }),
  confirm: (id: number) => call<Order>('/orders/' + id + '/confirm', { method: 'POST' }),

  // services: the bookings (each one an order) and their vouchers
  bookings: (page = 1, perPage = 100) => call<BookingPage>('/me/bookings', { query: { page, per_page: perPage } }),
  booking: (id: number) => call<Booking>('/bookings/' + id),
  sessions: (productId: number) => call<Sessions>('/products/' + productId + '/sessions'),
  book: (sessionId: number, guests: Guest[], key: string) =>
    call<Booking>('/bookings', { method: 'POST', body: { session_id: sessionId, guests } satisfies BookBody, idem: key }),
}

/** The transport, for the workspaces' calls (src/workspace/api.ts). */
export const request = call
export type RequestOpts = Opts
