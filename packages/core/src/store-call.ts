// Every call the engine makes into the store goes through storeCall: a failure (a thrown error, a
// rejected promise, a store's own timeout) becomes SessionStoreUnavailable (HTTP 503) plus a
// `store.error` audit event naming the operation and the error's code, never its message.

import type { Audit, ClientInfo } from './audit.js'
import { SesameError, SessionStoreUnavailable } from './errors.js'

export type StoreOperation = 'get' | 'create' | 'update' | 'touch' | 'rename' | 'undoRename' | 'destroy' | 'listByUser' | 'destroyByUser'

/**
 * `subject` is the store key of the session concerned ('' when the call is about a user); `request`
 * is whose request it is (its `client` is read only for a failure's event).
 */
export async function storeCall<T>(
  audit: Audit,
  operation: StoreOperation,
  subject: string,
  request: { readonly client: ClientInfo } | undefined,
  call: () => T | Promise<T>,
): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw storeFailure(audit, operation, subject, request?.client, error)
  }
}

function storeFailure(audit: Audit, operation: StoreOperation, subject: string, client: ClientInfo | undefined, error: unknown): SessionStoreUnavailable {
  const code = error instanceof SesameError ? error.code : ((error as { code?: unknown } | null)?.code ?? (error as { name?: unknown } | null)?.name)
  audit.emit('store.error', subject, client, { operation, error: typeof code === 'string' ? code : 'error' })
  return error instanceof SessionStoreUnavailable ? error : new SessionStoreUnavailable(operation, { cause: error })
}
