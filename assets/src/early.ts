// The first view's data, asked for before the page's code has loaded: on a
// cold load of / or /p/{id}, the page's API calls start while the browser
// is still fetching and evaluating the app, instead of after the page has
// mounted (one round trip or two fewer before the first picture).  Each
// early answer is handed over once; any later visit asks anew.  A product's
// vendor (its qualification's date, which the labels say) is asked for as
// soon as the product names it, not after the page has drawn the product.
import { api, type Channel, type Product, type Regions, type VendorPublic } from './api'

type HomeData = [Regions, Channel]
let home: Promise<HomeData> | null = null
let product: { id: number; p: Promise<Product>; v: Promise<VendorPublic> } | null = null

const fetchHome = (): Promise<HomeData> => Promise.all([api.regions(), api.channel()])

// A failure is reported by the page when it takes the answer.
const quiet = <T>(p: Promise<T>): Promise<T> => (p.catch(() => {}), p)

export function prefetch(path: string): void {
  if (path === '/') home = quiet(fetchHome())
  const m = /^\/p\/(\d+)$/.exec(path)
  if (m) {
    const p = quiet(api.product(Number(m[1])))
    product = { id: Number(m[1]), p, v: quiet(p.then((x) => api.vendor(x.vendor.id))) }
  }
}

export function homeData(): Promise<HomeData> {
  const p = home
  home = null
  return p ?? fetchHome()
}

/** The product and, once it is known, its vendor (the vendor's promise
 * settles after the product's; a page that takes the product takes both). */
export function productData(id: number): { p: Promise<Product>; v: Promise<VendorPublic> } {
  const early = product?.id === id ? product : null
  product = null
  if (early) return early
  const p = api.product(id)
  return { p, v: quiet(p.then((x) => api.vendor(x.vendor.id))) }
}
