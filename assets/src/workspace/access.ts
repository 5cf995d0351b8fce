// Who may use which workspace section.  Navigation shows only these; a
// direct link to another shows 无权访问.  The API still decides every call.
import type { Me } from '../api'

export type Section = 'vendor' | 'org' | 'admin'

export const SECTIONS: { key: Section; title: string; home: string }[] = [
  { key: 'vendor', title: '商家中心', home: '/vendor' },
  { key: 'org', title: '企业采购', home: '/org' },
  { key: 'admin', title: '运营后台', home: '/admin' },
]

export const ROLE_NAME: Record<string, string> = { citizen: '市民', vendor: '商家', admin: '平台运营' }

export function allowed(me: Me | null, s: Section): boolean {
  if (!me) return false
  if (s === 'vendor') return me.role === 'vendor'
  if (s === 'admin') return me.role === 'admin'
  return true // 企业采购: any person may create or join an organisation; its roles decide the rest
}
