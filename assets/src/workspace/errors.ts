// problem+json → what the form shows: field errors under their fields, else a message.
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { ApiError } from '../api'
import { fieldMessage } from '../format'

export function fail(e: unknown, fields?: Record<string, string>): string {
  if (e instanceof ApiError) {
    if (fields) {
      for (const k of Object.keys(fields)) delete fields[k]
      for (const f of e.errors) fields[f.field] = fieldMessage(f.field, f.message)
    }
    const msg = e.status === 403 && e.code === 'vendor_not_approved' ? '商家尚未通过审核，暂不能发布商品' : e.detail || e.code
    if (!fields || e.errors.length === 0) ElMessage.error(msg)
    else ElMessage.error('请按提示修改：' + e.errors.map((f) => fieldMessage(f.field, f.message)).join('；'))
    return msg
  }
  ElMessage.error('操作失败，请重试')
  return '操作失败'
}

export function done(msg: string) {
  ElMessage.success(msg)
}

export function note(msg: string) {
  ElMessage.info(msg)
}
