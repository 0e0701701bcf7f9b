import { createHash } from 'node:crypto';
import type { RedisClient } from './client.js';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does
 * not have it cached (first use, a restarted server, a new cluster master).
 */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}

/** Marker of the error reply that the CAS script returns for a stored value it cannot parse. */
export const BAD_STATE_REPLY = 'RINGROUTE_INVALID_SNAPSHOT';

// Shared by the ring scripts. KEYS[1] is the ring key. A stored state always
// starts with `{"epoch":"E","version":N,"nodes":`, so the epoch and version
// are read without decoding the (possibly large) node list.
const RING_PRELUDE = `
local function header(raw)
  return string.match(raw, '^{"epoch":"([%w%-]+)","version":(%d+),"nodes":')
end
local function new_epoch(random)
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)) .. '-' .. random
end
local function store(epoch, version, nodes, channel)
  local state = '{"epoch":"' .. epoch .. '","version":' .. string.format('%d', version) .. ',"nodes":' .. nodes .. '}'
  redis.call('SET', KEYS[1], state)
  redis.call('PUBLISH', channel, state)
  return {version, epoch}
end
`;

/**
 * Compare-and-set of the ring. KEYS: ring. ARGV: expected version, nodes
 * JSON (already validated), channel, expected epoch ('' for any), random
 * part of a new epoch id. Returns {version, epoch} of the new state, or nil
 * when the stored version (or epoch) is not the expected one. The first
 * write into an empty key starts a new epoch: the server's time in ms, a
 * dash, and the client's random part.
 */
export const CAS_SCRIPT = new LuaScript(`${RING_PRELUDE}
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'string' then
  return redis.error_reply('${BAD_STATE_REPLY} ' .. KEYS[1] .. ' holds a Redis ' .. kind .. ', not a ring state')
end
local raw = redis.call('GET', KEYS[1])
local current, epoch = 0, nil
if raw then
  local e, v = header(raw)
  if not e then
    return redis.error_reply('${BAD_STATE_REPLY} the value at ' .. KEYS[1] .. ' is not a ring state written by ringroute')
  end
  current, epoch = tonumber(v), e
end
if current ~= tonumber(ARGV[1]) then return false end
if epoch and ARGV[4] ~= '' and epoch ~= ARGV[4] then return false end
return store(epoch or new_epoch(ARGV[5]), current + 1, ARGV[2], ARGV[3])
`);

/**
 * Replaces an unreadable ring value with version 1 of a new epoch. KEYS:
 * ring. ARGV: SHA1 of the unreadable string the client read (or
 * 'WRONGTYPE'), nodes JSON, channel, random part of the epoch id. Writes
 * only while the key still holds exactly that value (or a value of another
 * Redis type); returns {version, epoch}, or nil when the key changed.
 */
export const REPAIR_SCRIPT = new LuaScript(`${RING_PRELUDE}
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return false end
if kind == 'string' then
  if redis.sha1hex(redis.call('GET', KEYS[1])) ~= ARGV[1] then return false end
else
  redis.call('DEL', KEYS[1])
end
return store(new_epoch(ARGV[4]), 1, ARGV[2], ARGV[3])
`);

// Shared by the membership scripts. KEYS[1] members hash, KEYS[2] expiry
// zset, KEYS[3] owners hash, KEYS[4] clock string. Time is the Redis
// server's, so the clocks of the processes never matter. A member is expired
// when its score <= now.
const MEMBERSHIP_PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function publish(channel, kind, node)
  redis.call('PUBLISH', channel, '{"type":"' .. kind .. '","node":' .. node .. '}')
end
-- A key of the wrong Redis type would fail every call: delete it (the live
-- members re-register on their next heartbeat) and say which.
local function repair_types()
  local want = {'hash', 'zset', 'hash', 'string'}
  local repaired = {}
  for i = 1, 4 do
    local kind = redis.call('TYPE', KEYS[i])['ok']
    if kind ~= 'none' and kind ~= want[i] then
      redis.call('DEL', KEYS[i])
      repaired[#repaired + 1] = KEYS[i]
    end
  end
  return repaired
end
-- Only time during which heartbeats could land counts against a member. The
-- clock key holds the time of the last script run; a longer gap than any
-- healthy cluster leaves (Redis paused, or unreachable for everyone) moves
-- every expiry forward by the gap before anything is reaped, and a clock
-- that stepped back moves them back.
local function advance(now, ttl, hb)
  local last = tonumber(redis.call('GET', KEYS[4]) or '')
  redis.call('SET', KEYS[4], string.format('%d', now))
  if not last then return 0 end
  local gap = now - last
  if gap >= 0 and gap <= math.min(2 * hb, ttl - hb) then return 0 end
  local all = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    redis.call('ZADD', KEYS[2], tonumber(all[i + 1]) + gap, all[i])
  end
  return gap
end
-- Expiry scores are never later than now + ttl: a later one (a forged entry,
-- a process with a longer ttl) is bounded to now + ttl and loses its owner
-- token, so it is skipped until its owner's next heartbeat rewrites it in
-- full, and expires after ttl when it has no owner. Returns those ids.
local function bound(now, ttl)
  local ghosts = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. string.format('%d', now + ttl), '+inf', 'LIMIT', 0, 1000)
  for _, id in ipairs(ghosts) do
    redis.call('ZADD', KEYS[2], now + ttl, id)
    redis.call('HDEL', KEYS[3], id)
  end
  return ghosts
end
local function reap(now, channel)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(dead) do
    local node = redis.call('HGET', KEYS[1], id)
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[2], id)
    if node then publish(channel, 'expire', node) end
  end
end
-- Writes a member's whole record; publishes join (new id) or update (other JSON).
local function register(id, json, token, expires, channel)
  local prev = redis.call('HGET', KEYS[1], id)
  redis.call('HSET', KEYS[1], id, json)
  redis.call('HSET', KEYS[3], id, token)
  redis.call('ZADD', KEYS[2], expires, id)
  local kind = 'same'
  if not prev then kind = 'join' elseif prev ~= json then kind = 'update' end
  if kind ~= 'same' then publish(channel, kind, json) end
  return kind
end
`;

/**
 * Join. ARGV: id, node JSON, owner token, ttl ms, channel, heartbeat ms.
 * Reaps first, so an expired entry of the same id counts as gone. Returns
 * "join", "update" or "same" (an identical re-join, which publishes nothing).
 */
export const JOIN_SCRIPT = new LuaScript(`${MEMBERSHIP_PRELUDE}
repair_types()
local now = now_ms()
local ttl = tonumber(ARGV[4])
advance(now, ttl, tonumber(ARGV[6]))
bound(now, ttl)
reap(now, ARGV[5])
return register(ARGV[1], ARGV[2], ARGV[3], now + ttl, ARGV[5])
`);

/**
 * Heartbeat of every member one adapter holds, then a reaper pass. ARGV: ttl
 * ms, channel, heartbeat ms, then id/token/JSON triples. A member still held
 * by its token gets its whole record rewritten (so a damaged record heals
 * with the next heartbeat); a member that is gone (reaped, lost, or damaged
 * beyond its owner token) is registered again. Returns {results, repaired
 * keys, bounded ids}, one result per triple: 1 refreshed, 0 registered
 * again, -1 taken over by another join.
 */
export const TICK_SCRIPT = new LuaScript(`${MEMBERSHIP_PRELUDE}
local repaired = repair_types()
local now = now_ms()
local ttl = tonumber(ARGV[1])
advance(now, ttl, tonumber(ARGV[3]))
local ghosts = bound(now, ttl)
local out = {}
for i = 4, #ARGV, 3 do
  local id, token, json = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local owner = redis.call('HGET', KEYS[3], id)
  if owner and owner ~= token then
    out[#out + 1] = -1
  else
    register(id, json, token, now + ttl, ARGV[2])
    if owner then out[#out + 1] = 1 else out[#out + 1] = 0 end
  end
end
reap(now, ARGV[2])
return {out, repaired, ghosts}
`);

/**
 * Leave. ARGV: id, owner token, channel. Removes the member only when that
 * token still holds it (a newer join of the same id is left alone). Returns
 * 1 when removed, else 0.
 */
export const LEAVE_SCRIPT = new LuaScript(`${MEMBERSHIP_PRELUDE}
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
local node = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if node then publish(ARGV[3], 'leave', node) end
return 1
`);

/**
 * Reaper pass, then the live members. ARGV: channel, ttl ms, heartbeat ms.
 * Returns {flat list id1, json1, id2, json2... of the members whose expiry
 * is in the future and who have an owner, ids skipped as incomplete
 * records, repaired keys, bounded ids}.
 */
export const MEMBERS_SCRIPT = new LuaScript(`${MEMBERSHIP_PRELUDE}
local repaired = repair_types()
local now = now_ms()
local ttl = tonumber(ARGV[2])
advance(now, ttl, tonumber(ARGV[3]))
local ghosts = bound(now, ttl)
reap(now, ARGV[1])
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. string.format('%d', now), '+inf')
local out, skipped = {}, {}
for _, id in ipairs(live) do
  local node = redis.call('HGET', KEYS[1], id)
  if node and redis.call('HEXISTS', KEYS[3], id) == 1 then
    out[#out + 1] = id
    out[#out + 1] = node
  else
    skipped[#skipped + 1] = id
  end
end
return {out, skipped, repaired, ghosts}
`);
