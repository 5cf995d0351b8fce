// What several pages share: who is signed in and how many things are in the
// cart (for the tab bar's badge).
import { reactive } from 'vue'
import { api, onAuthChange, signedIn, type Cart, type Me } from './api'

export const session = reactive({
  signedIn: signedIn(),
  me: null as Me | null,
  cartCount: 0,
})

onAuthChange((v) => {
  session.signedIn = v
  if (!v) session.me = null
})

export function noteCart(c: Cart) {
  session.cartCount = c.item_count
}

export async function loadMe(): Promise<Me | null> {
  if (!session.signedIn) return null
  try {
    session.me = await api.me()
  } catch {
    session.me = null
  }
  return session.me
}

export async function refreshCartCount() {
  try {
    noteCart(await api.cart())
  } catch {
    /* the badge is not worth an error */
  }
}
