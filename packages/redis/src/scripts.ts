// The Lua scripts behind every mutation. Each one touches exactly one key, so each is atomic on its
// own and every script runs unchanged on a Redis Cluster (one key -> one slot, no CROSSSLOT).
//
// A session is one hash at `<prefix>s:{<sid>}`:
//   m:createdAt m:lastActiveAt m:expiresAt m:absoluteExpiresAt [m:userId] [m:ip] [m:userAgent]
//   d:<key> -> JSON text, one field per data key
// and the hash itself expires (PEXPIREAT) at m:expiresAt, which no script ever moves past
// m:absoluteExpiresAt.
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

function script(name: string, source: string): LuaScript {
  const text = source.trim().replaceAll('UNPACK_LIMIT', String(UNPACK_LIMIT))
  return { name, source: text, sha: createHash('sha1').update(text).digest('hex') }
}

/**
 * KEYS[1] session hash. ARGV[1] expiresAt (already clamped to the absolute deadline by the caller),
 * ARGV[2..] field, value pairs. Returns 1 when created, 0 when the id exists (nothing changed).
 */
export const createIfAbsent = script('create', `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if #ARGV - 1 <= UNPACK_LIMIT then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
else
  for i = 2, #ARGV, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`)

/**
 * KEYS[1] session hash.
 * ARGV[1] lastActiveAt, ARGV[2] requested expiresAt, ARGV[3] user mode ('keep' | 'bind' | 'unbind'),
 * ARGV[4] userId (for 'bind'), ARGV[5] number of data fields to set (n), then n field, value pairs,
 * then the data fields to delete.
 * Returns false (nil) when the session does not exist, else { 1, previous userId or '' }.
 * Three commands in the common case (HMGET, one HSET, PEXPIREAT): every redis.call costs Redis time
 * on every request. A hash without m:absoluteExpiresAt counts as absent (every session has one).
 */
export const updateIfExists = script('update', `
local meta = redis.call('HMGET', KEYS[1], 'm:absoluteExpiresAt', 'm:userId')
if not meta[1] then return false end
local expiresAt = ARGV[2]
if tonumber(meta[1]) < tonumber(expiresAt) then expiresAt = meta[1] end
if ARGV[3] == 'bind' then
  redis.call('HSET', KEYS[1], 'm:userId', ARGV[4])
elseif ARGV[3] == 'unbind' then
  redis.call('HDEL', KEYS[1], 'm:userId')
end
local afterSet = 6 + tonumber(ARGV[5]) * 2
if afterSet - 6 <= UNPACK_LIMIT then
  redis.call('HSET', KEYS[1], 'm:lastActiveAt', ARGV[1], 'm:expiresAt', expiresAt, unpack(ARGV, 6, afterSet - 1))
else
  redis.call('HSET', KEYS[1], 'm:lastActiveAt', ARGV[1], 'm:expiresAt', expiresAt)
  for i = 6, afterSet - 1, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
for i = afterSet, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
end
redis.call('PEXPIREAT', KEYS[1], expiresAt)
return { 1, meta[2] or '' }
`)

/** KEYS[1] session hash. ARGV[1] lastActiveAt, ARGV[2] requested expiresAt. Returns 1, or 0 when absent. */
export const touchIfExists = script('touch', `
local absolute = redis.call('HGET', KEYS[1], 'm:absoluteExpiresAt')
if not absolute then return 0 end
local expiresAt = ARGV[2]
if tonumber(absolute) < tonumber(expiresAt) then expiresAt = absolute end
redis.call('HSET', KEYS[1], 'm:lastActiveAt', ARGV[1], 'm:expiresAt', expiresAt)
redis.call('PEXPIREAT', KEYS[1], expiresAt)
return 1
`)

/** KEYS[1] session hash. Returns false (nil) when absent, else the bound userId or ''. */
export const destroySession = script('destroy', `
local userId = redis.call('HGET', KEYS[1], 'm:userId')
if redis.call('DEL', KEYS[1]) == 0 then return false end
return userId or ''
`)

/** KEYS[1] session hash, ARGV[1] userId. Deletes only while the session is still bound to that user. */
export const destroyIfBoundTo = script('destroyByUser', `
if redis.call('HGET', KEYS[1], 'm:userId') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
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

export const allScripts = [createIfAbsent, updateIfExists, touchIfExists, destroySession, destroyIfBoundTo, indexAdd, indexMembers]
