// The workspaces' (商家中心, 运营后台, 企业采购) API types and their one typed
// call.  Every type here is an alias of those openapi-typescript generates
// from the contract (assets/api/openapi.yaml -> src/api/schema.d.ts,
// git-ignored; written by `scripts/web.sh build` before vue-tsc), as the
// shop's src/api.ts does.  A contract change that breaks a page is a type
// error there.  Do not write API shapes by hand in the workspaces.
import { request, type RequestOpts } from '../api'
import type { components, operations } from '../api/schema'

export type { components, operations }
export type S = components['schemas']
export type OpId = keyof operations

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never
type Success<R> = R extends { 200: infer A }
  ? Json<A>
  : R extends { 201: infer A }
    ? Json<A>
    : R extends { 202: infer A }
      ? Json<A>
      : R extends { 204: unknown }
        ? void
        : never
/** The JSON body of operation K's success (200, 201 or 202; void for 204). */
export type Ok<K extends OpId> = Success<operations[K]['responses']>
/** The JSON request body of operation K. */
export type Body<K extends OpId> = Json<NonNullable<operations[K]['requestBody']>>
/** The query parameters of operation K. */
export type Query<K extends OpId> = NonNullable<operations[K]['parameters']['query']>
/** One item of a listing answer ({items: [...]}) of operation K. */
export type Item<K extends OpId> = Ok<K> extends { items: (infer T)[] } ? T : never

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
interface OpOpts<K extends OpId> {
  body?: Body<K>
  query?: Query<K>
  idem?: string
  auth?: boolean
}

/**
 * A call of operation K (its operationId in the document) over the shop's
 * transport: the JSON body must be K's request body and the query K's
 * parameters, and the answer is K's success body.  The name is only for the
 * types; the path is the caller's.
 */
export function op<K extends OpId>(_name: K, method: Method, path: string, o: OpOpts<K> = {}): Promise<Ok<K>> {
  return request<Ok<K>>(path, {
    method,
    body: o.body,
    query: o.query as RequestOpts['query'],
    idem: o.idem,
    auth: o.auth,
  })
}
