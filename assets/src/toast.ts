// Short news: one line in a live region (Vant's toast is an unnamed dialog).
import { reactive } from 'vue'

export const toastState = reactive({ message: '', seq: 0 })
let timer: number | undefined

export function showToast(m: string | { message: string }) {
  toastState.message = typeof m === 'string' ? m : m.message
  toastState.seq++
  window.clearTimeout(timer)
  timer = window.setTimeout(() => (toastState.message = ''), 2500)
}
