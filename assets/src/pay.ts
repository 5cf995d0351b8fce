// 去支付: create a sandbox payment whose cashier returns to the order, and
// send the browser to the provider's page.  One Idempotency-Key per attempt,
// reused when the answer was lost.
import { api, ApiError, idempotencyKey } from './api'

export async function payOrder(orderId: number): Promise<void> {
  const key = idempotencyKey()
  let last: unknown
  for (let i = 0; i < 2; i++) {
    try {
      const p = await api.pay(orderId, key)
      if (!p.pay_url) throw new ApiError(503, 'no_pay_url', '支付页面暂不可用，请稍后在“我的订单”中支付')
      window.location.assign(p.pay_url)
      return
    } catch (e) {
      last = e
      if (!(e instanceof ApiError) || !e.retryable || e.code === 'no_pay_url') break
    }
  }
  throw last
}

export function payErrorText(e: unknown): string {
  const a = e as ApiError
  if (a.code === 'provider_unavailable') return '支付暂不可用，请稍后再试'
  if (a.code === 'no_pay_url') return a.detail
  if (a.status === 0) return '网络连接失败，请稍后在“我的订单”中支付'
  if (a.status === 409) return '订单状态已变化，请刷新后查看'
  return a.detail || '发起支付失败，请重试'
}
