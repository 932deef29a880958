// Compile-time check that both implementations of "#crypto" have the same interface.
import type * as Node from './node.js'
import type * as Web from './web.js'

type Api = Omit<typeof Node, 'runtime'>
export type WebMatchesNode = Omit<typeof Web, 'runtime'> extends Api ? (Api extends Omit<typeof Web, 'runtime'> ? true : never) : never
export const webMatchesNode: WebMatchesNode = true
