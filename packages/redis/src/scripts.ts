// The Lua scripts behind every mutation. Each one touches the keys of ONE hash tag (one session's,
// or one user's), so each is atomic on its own and runs unchanged on a Redis Cluster (one hash tag
// -> one slot, no CROSSSLOT).
//
// A session is one hash at `<prefix>s:{<sid>}`:
//   m:createdAt m:lastActiveAt m:expiresAt m:absoluteExpiresAt [m:userId] [m:ip] [m:userAgent]
//   d:<key> -> JSON text, one field per data key
// The session is dead from m:expiresAt on (which no script ever moves past m:absoluteExpiresAt): every
// script treats a hash past it as absent. The hash itself expires (PEXPIREAT) `retention` ms later, so
// that a late request can still be told "expired" rather than "unknown" (get() reports it, see
// redis-store.ts), and then it is gone without any sweep.
//
// A session being renamed (regenerate, login) leaves its old hash, for a short while, at
// `<prefix>r:{<old sid>}` (same hash tag, so same slot as the old session) with r:to = the new sid,
// r:abandonAt = when the renaming call has certainly stopped waiting (Redis time), and r:answered once
// its answer came back in time: an undoRename for that pair puts it back, and so does a get() of the
// old id once the rename is known to be abandoned. See `retireSession` and `restoreAbandoned`.
//
// A user's index is a sorted set at `<prefix>u:{<userId>}`: member = sid, score = the session's
// absoluteExpiresAt (the latest moment it can be alive, so a member past its score is certainly dead).

import { createHash } from 'node:crypto'

export interface LuaScript {
  readonly name: string
  readonly source: string
  /** SHA1 of `source`: scripts run by EVALSHA, and are sent in full (EVAL) only after a NOSCRIPT. */
  readonly sha: string
}

// Data fields set by one update go to Redis in the same HSET as the timestamps (one call instead of
// one per field), through unpack(); past this many values (Lua's C stack allows about 8,000) the
// script sets them one by one instead.
const UNPACK_LIMIT = 1000

// KEYS[2] is the session's retired key (see retireSession): a copy there that is not marked answered
// belongs to a rename whose outcome is not known yet (the undo may still put it back), so the session
// is neither alive nor gone: scripts answer 'pending' and the store fails the call (503) rather than
// report the session as gone, which would clear the client's cookie.
const PENDING = `local function pending()
  local mark = redis.call('HMGET', KEYS[2], 'r:to', 'r:answered')
  return mark[1] and not mark[2]
end`

function script(name: string, source: string): LuaScript {
  const text = source.trim().replaceAll('UNPACK_LIMIT', String(UNPACK_LIMIT))
  return { name, source: text, sha: createHash('sha1').update(text).digest('hex') }
}

// Redis' own clock in ms, so that times a script compares come from one clock (no skew between hosts).
const REDIS_NOW = `local clock = redis.call('TIME')
local redisNow = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`

/**
 * KEYS[1] session hash. ARGV[1] now, ARGV[2] key expiry (PEXPIREAT: expiresAt + retention),
 * ARGV[3..] field, value pairs. Returns Redis' time (ms, > 0) when created (rename measures its
 * deadline by it), 0 when a live session has the id (nothing changed). A dead session still kept for
 * its retention is replaced.
 */
export const createIfAbsent = script('create', `
local deadline = redis.call('HGET', KEYS[1], 'm:expiresAt')
if deadline then
  if tonumber(deadline) > tonumber(ARGV[1]) then return 0 end
  redis.call('DEL', KEYS[1])
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if #ARGV - 2 <= UNPACK_LIMIT then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
else
  for i = 3, #ARGV, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
${REDIS_NOW}
return redisNow
`)

/**
 * KEYS[1] session hash, KEYS[2] its retired key.
 * ARGV[1] now, ARGV[2] retention (ms), ARGV[3] lastActiveAt, ARGV[4] requested expiresAt, ARGV[5] user
 * mode ('keep' | 'bind' | 'unbind'), ARGV[6] userId (for 'bind'), ARGV[7] number of data fields to set
 * (n), then n field, value pairs, then the data fields to delete.
 * Returns false (nil) when the session does not exist or is past its deadline, 'pending' when it is
 * retired by a rename of unknown outcome, else { 1, previous userId or '' }. Three commands in the
 * common case (HMGET, one HSET, PEXPIREAT): every redis.call costs Redis time on every request. A
 * hash without m:absoluteExpiresAt counts as absent.
 */
export const updateIfExists = script('update', `
${PENDING}
local meta = redis.call('HMGET', KEYS[1], 'm:absoluteExpiresAt', 'm:userId', 'm:expiresAt')
if not meta[1] or not meta[3] or tonumber(meta[3]) <= tonumber(ARGV[1]) then
  if not meta[1] and pending() then return 'pending' end
  return false
end
local expiresAt = ARGV[4]
if tonumber(meta[1]) < tonumber(expiresAt) then expiresAt = meta[1] end
if ARGV[5] == 'bind' then
  redis.call('HSET', KEYS[1], 'm:userId', ARGV[6])
elseif ARGV[5] == 'unbind' then
  redis.call('HDEL', KEYS[1], 'm:userId')
end
local afterSet = 8 + tonumber(ARGV[7]) * 2
if afterSet - 8 <= UNPACK_LIMIT then
  redis.call('HSET', KEYS[1], 'm:lastActiveAt', ARGV[3], 'm:expiresAt', expiresAt, unpack(ARGV, 8, afterSet - 1))
else
  redis.call('HSET', KEYS[1], 'm:lastActiveAt', ARGV[3], 'm:expiresAt', expiresAt)
  for i = 8, afterSet - 1, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
for i = afterSet, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
end
redis.call('PEXPIREAT', KEYS[1], tonumber(expiresAt) + tonumber(ARGV[2]))
return { 1, meta[2] or '' }
`)

/**
 * KEYS[1] session hash, KEYS[2] its retired key. ARGV[1] now, ARGV[2] retention (ms), ARGV[3]
 * lastActiveAt, ARGV[4] requested expiresAt. Returns 1, 0 when absent or past its deadline, or
 * 'pending' (see updateIfExists).
 */
export const touchIfExists = script('touch', `
${PENDING}
local meta = redis.call('HMGET', KEYS[1], 'm:absoluteExpiresAt', 'm:expiresAt')
if not meta[1] or not meta[2] or tonumber(meta[2]) <= tonumber(ARGV[1]) then
  if not meta[1] and pending() then return 'pending' end
  return 0
end
local expiresAt = ARGV[4]
if tonumber(meta[1]) < tonumber(expiresAt) then expiresAt = meta[1] end
redis.call('HSET', KEYS[1], 'm:lastActiveAt', ARGV[3], 'm:expiresAt', expiresAt)
redis.call('PEXPIREAT', KEYS[1], tonumber(expiresAt) + tonumber(ARGV[2]))
return 1
`)

/**
 * KEYS[1] session hash, KEYS[2] its retired key. ARGV[1] now. Deletes the hash, dead or alive, and
 * its retired copy (so that no undo or get can bring an ended session back). Returns false (nil)
 * when there was no live session (in either place, a retired copy counting while its rename's
 * outcome is unknown), else the bound userId or ''.
 */
export const destroySession = script('destroy', `
local meta = redis.call('HMGET', KEYS[1], 'm:userId', 'm:expiresAt')
local mark = redis.call('HMGET', KEYS[2], 'm:userId', 'm:expiresAt', 'r:to', 'r:answered')
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
if existed == 1 and meta[2] and tonumber(meta[2]) > tonumber(ARGV[1]) then return meta[1] or '' end
if mark[3] and not mark[4] and mark[2] and tonumber(mark[2]) > tonumber(ARGV[1]) then return mark[1] or '' end
return false
`)

/**
 * KEYS[1] session hash, KEYS[2] its retired key, ARGV[1] userId, ARGV[2] now. Deletes only while the
 * session is still bound to that user, its retired copy too. Returns 1 when it ended a live session
 * (or a retired copy whose rename's outcome is unknown), 0 otherwise (dead ones go all the same).
 */
export const destroyIfBoundTo = script('destroyByUser', `
local removed = 0
local meta = redis.call('HMGET', KEYS[1], 'm:userId', 'm:expiresAt')
if meta[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if meta[2] and tonumber(meta[2]) > tonumber(ARGV[2]) then removed = 1 end
end
local mark = redis.call('HMGET', KEYS[2], 'm:userId', 'm:expiresAt', 'r:to', 'r:answered')
if mark[1] == ARGV[1] then
  redis.call('DEL', KEYS[2])
  if mark[3] and not mark[4] and mark[2] and tonumber(mark[2]) > tonumber(ARGV[2]) then removed = 1 end
end
return removed
`)

/**
 * KEYS[1] session hash. ARGV[1] now. Deletes the hash if it is past its deadline (kept only for its
 * retention). Returns false (nil) when it did not delete it (absent, alive, or another process was
 * first), else the bound userId or '', so that exactly one reader reports the expiry.
 */
export const deleteIfExpired = script('deleteIfExpired', `
local meta = redis.call('HMGET', KEYS[1], 'm:userId', 'm:expiresAt')
if not meta[2] or tonumber(meta[2]) > tonumber(ARGV[1]) then return false end
redis.call('DEL', KEYS[1])
return meta[1] or ''
`)

/**
 * Second step of a rename (the first created the new session under its own hash tag).
 * KEYS[1] old session hash, KEYS[2] its retired key (same hash tag). ARGV[1] now, ARGV[2] new sid,
 * ARGV[3] how long the retired copy is kept (ms), ARGV[4] the renaming call's deadline, ARGV[5] when
 * it has certainly stopped waiting (the deadline plus the lag of its sweep), both in Redis' clock.
 * Moves the old hash to the retired key, marked with the new sid, so that undoRename(old, new) can
 * put it back. Returns false (nil) when the old session is absent or dead, -1 when it arrives after
 * the caller's deadline (then it changes nothing: a late retire would leave the old session missing
 * until the undo behind it lands, and other connections would see it gone), else its userId or ''.
 * (The caller derives the deadline from the Redis time its create step answered, so no two hosts'
 * clocks are compared; a retire may land late by at most that create's trip to Redis.)
 */
export const retireSession = script('retire', `
local deadline = redis.call('HGET', KEYS[1], 'm:expiresAt')
if not deadline or tonumber(deadline) <= tonumber(ARGV[1]) then return false end
${REDIS_NOW}
if redisNow >= tonumber(ARGV[4]) then return -1 end
local userId = redis.call('HGET', KEYS[1], 'm:userId')
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'r:to', ARGV[2], 'r:abandonAt', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return userId or ''
`)

/**
 * A get() that finds no session under this id. KEYS[1] session hash, KEYS[2] its retired key.
 * ARGV[1] retention (ms). If the id was retired by a rename that was never answered and whose caller
 * has certainly stopped waiting (so its client still holds this id's cookie, and an undoRename is on
 * its way or was lost), the old hash is put back now, as the undo would (the undo, when it lands,
 * still deletes the new session). Returns the session's hash as a flat field/value list (restored
 * now, or put back by an undo that landed since the get's HGETALL), 'pending' while the rename's
 * caller may still be waiting for it (its outcome is not known yet), or false.
 */
export const restoreAbandoned = script('restoreAbandoned', `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGETALL', KEYS[1]) end
local mark = redis.call('HMGET', KEYS[2], 'r:to', 'r:answered', 'r:abandonAt')
if not mark[1] or mark[2] or not mark[3] then return false end
${REDIS_NOW}
if redisNow < tonumber(mark[3]) then return 'pending' end
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('HDEL', KEYS[1], 'r:to', 'r:abandonAt')
local deadline = redis.call('HGET', KEYS[1], 'm:expiresAt')
redis.call('PEXPIREAT', KEYS[1], tonumber(deadline) + tonumber(ARGV[1]))
return redis.call('HGETALL', KEYS[1])
`)

/**
 * First step of an undoRename. KEYS[1] old session hash, KEYS[2] its retired key. ARGV[1] now, ARGV[2]
 * the new sid of the rename being undone, ARGV[3] retention (ms).
 * When the old session is absent and the retired copy was retired for THIS new sid, it is put back
 * exactly as it was (its own deadline). A copy retired for another rename is left alone (that rename
 * succeeded: bringing the old id back would leave two live sessions). Returns { 1 when the old
 * session is live afterwards else 0, its userId or '' when it was put back, its absoluteExpiresAt }.
 */
export const restoreRetired = script('restore', `
local deadline = redis.call('HGET', KEYS[1], 'm:expiresAt')
if deadline then
  if tonumber(deadline) > tonumber(ARGV[1]) then return { 1, '', '' } end
  return { 0, '', '' }
end
if redis.call('HGET', KEYS[2], 'r:to') ~= ARGV[2] then return { 0, '', '' } end
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('HDEL', KEYS[1], 'r:to', 'r:abandonAt', 'r:answered')
local meta = redis.call('HMGET', KEYS[1], 'm:expiresAt', 'm:userId', 'm:absoluteExpiresAt')
redis.call('PEXPIREAT', KEYS[1], tonumber(meta[1]) + tonumber(ARGV[3]))
local live = 0
if tonumber(meta[1]) > tonumber(ARGV[1]) then live = 1 end
return { live, meta[2] or '', meta[3] or '' }
`)

/**
 * KEYS[1] retired key, ARGV[1] new sid, ARGV[2] ms. Marks the retired copy of a rename whose answer
 * came back in time as answered (so no get() ever brings the old id back) and shortens its life (only
 * an undo sent at once by a caller that stopped waiting on its own can still need it).
 */
export const markAnswered = script('markAnswered', `
if redis.call('HGET', KEYS[1], 'r:to') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'r:answered', '1')
if redis.call('PTTL', KEYS[1]) <= tonumber(ARGV[2]) then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`)

/**
 * KEYS[1] user index. ARGV[1] now, ARGV[2] score (absoluteExpiresAt), ARGV[3] sid.
 * Drops members past their absolute deadline, adds the sid, and lets the whole index expire with its
 * longest-lived member so an abandoned user's index never outlives that user's sessions.
 */
export const indexAdd = script('indexAdd', `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`)

/** KEYS[1] user index. ARGV[1] now. Drops members past their absolute deadline, returns the rest. */
export const indexMembers = script('indexMembers', `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

export const allScripts = [
  createIfAbsent, updateIfExists, touchIfExists, destroySession, destroyIfBoundTo, deleteIfExpired,
  retireSession, restoreAbandoned, restoreRetired, markAnswered, indexAdd, indexMembers,
]
