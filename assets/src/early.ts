// The first view's data, asked for before the page's code has loaded: on a
// cold load of / or /p/{id}, the page's API calls start while the browser
// is still fetching and evaluating the app, instead of after the page has
// mounted (one round trip or two fewer before the first picture).  Each
// early answer is handed over once; any later visit asks anew.
import { api, type Channel, type Product, type Regions } from './api'

type HomeData = [Regions, Channel]
let home: Promise<HomeData> | null = null
let product: { id: number; p: Promise<Product> } | null = null

const fetchHome = (): Promise<HomeData> => Promise.all([api.regions(), api.channel()])

// A failure is reported by the page when it takes the answer.
const quiet = <T>(p: Promise<T>): Promise<T> => (p.catch(() => {}), p)

export function prefetch(path: string): void {
  if (path === '/') home = quiet(fetchHome())
  const m = /^\/p\/(\d+)$/.exec(path)
  if (m) product = { id: Number(m[1]), p: quiet(api.product(Number(m[1]))) }
}

export function homeData(): Promise<HomeData> {
  const p = home
  home = null
  return p ?? fetchHome()
}

export function productData(id: number): Promise<Product> {
  const early = product?.id === id ? product.p : null
  product = null
  return early ?? api.product(id)
}
