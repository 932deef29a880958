// destroy() and logout(): the session leaves the store and the response clears the cookie.
// Writing to the session afterwards in the same request starts a new one (commit creates it).

import type { EngineContext } from './engine-context.js'
import { resetState, type RequestState } from './state.js'
import { storeCall } from './store-call.js'
import { storeKey } from './store-key.js'

export async function destroy(context: EngineContext, state: RequestState, logout: boolean): Promise<void> {
  const userId = state.userId
  const knownToClient = state.persisted || state.hadCookie
  if (state.persisted) {
    const key = state.key!
    await storeCall(context.audit, 'destroy', key, state, () => context.store.destroy(key))
    context.audit.emit(logout ? 'session.logout' : 'session.destroyed', key, state.client, { userId })
  } else if (state.sid !== undefined && state.hadCookie) {
    context.audit.emit(logout ? 'session.logout' : 'session.destroyed', await storeKey(state.sid), state.client, { userId })
  }
  resetState(state, context.options)
  state.clearCookie = knownToClient
  state.destroyed = true
}
