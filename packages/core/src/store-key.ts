// The key a store knows a session by: a one-way hash of its id, never the id itself (issue 22).
// A store, its replicas, backups, MONITOR output or a heap snapshot of it then hold nothing a cookie
// could name: the id is only ever in the sealed cookie and in the memory of the request that holds it.
// Audit events and sessionRefs take the store key as their subject, so the events a store reports
// (evicted, expired: it knows only keys) and those of the session's requests share one sessionRef.

import { sha256Base64Url } from '#crypto'

/** SHA-256 of the session id, base64url (43 characters). Asynchronous on Web Crypto, so always awaited. */
export async function storeKey(sessionId: string): Promise<string> {
  return sha256Base64Url(sessionId)
}
