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

/**
 * Compare-and-set of the ring. KEYS: ring. ARGV: expected version, nodes
 * JSON (already validated), channel. Returns the new version, or nil when
 * the stored version is not the expected one. The stored JSON always starts
 * with `{"version":N,"nodes":`, so the version is read without decoding the
 * whole (possibly large) node list.
 */
export const CAS_SCRIPT = new LuaScript(`
local raw = redis.call('GET', KEYS[1])
local current = 0
if raw then
  local v = string.match(raw, '^{"version":(%d+),"nodes":')
  if not v then
    return redis.error_reply('${BAD_STATE_REPLY} the value at ' .. KEYS[1] .. ' is not a ring state written by ringroute')
  end
  current = tonumber(v)
end
if current ~= tonumber(ARGV[1]) then return false end
local version = current + 1
local state = '{"version":' .. string.format('%d', version) .. ',"nodes":' .. ARGV[2] .. '}'
redis.call('SET', KEYS[1], state)
redis.call('PUBLISH', ARGV[3], state)
return version
`);

// Shared by the membership scripts. KEYS[1] members hash, KEYS[2] expiry
// zset, KEYS[3] owners hash. Time is the Redis server's, so the clocks of the
// processes never matter. A member is expired when its score <= now.
const MEMBERSHIP_PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function publish(channel, kind, node)
  redis.call('PUBLISH', channel, '{"type":"' .. kind .. '","node":' .. node .. '}')
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
`;

/**
 * Join. ARGV: id, node JSON, owner token, ttl ms, channel. Reaps first, so
 * an expired entry of the same id counts as gone. Returns "join", "update"
 * or "same" (an identical re-join, which publishes nothing).
 */
export const JOIN_SCRIPT = new LuaScript(`${MEMBERSHIP_PRELUDE}
local now = now_ms()
reap(now, ARGV[5])
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
local kind = 'same'
if not prev then kind = 'join' elseif prev ~= ARGV[2] then kind = 'update' end
if kind ~= 'same' then publish(ARGV[5], kind, ARGV[2]) end
return kind
`);

/**
 * Heartbeat of every member one adapter holds, then a reaper pass. ARGV: ttl
 * ms, channel, then id/token pairs. Refreshes a member's expiry only while
 * the member is still there and held by that token. Returns one integer per
 * pair: 1 refreshed, 0 gone (reaped or lost), -1 taken over by another join.
 */
export const TICK_SCRIPT = new LuaScript(`${MEMBERSHIP_PRELUDE}
local now = now_ms()
local ttl = tonumber(ARGV[1])
local out = {}
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local owner = redis.call('HGET', KEYS[3], id)
  if owner == token and redis.call('HEXISTS', KEYS[1], id) == 1 then
    redis.call('ZADD', KEYS[2], now + ttl, id)
    out[#out + 1] = 1
  elseif owner and owner ~= token then
    out[#out + 1] = -1
  else
    out[#out + 1] = 0
  end
end
reap(now, ARGV[2])
return out
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
 * Reaper pass, then the live members. ARGV: channel. Returns a flat list
 * id1, json1, id2, json2... of members whose expiry is in the future.
 */
export const MEMBERS_SCRIPT = new LuaScript(`${MEMBERSHIP_PRELUDE}
local now = now_ms()
reap(now, ARGV[1])
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf')
local out = {}
for _, id in ipairs(live) do
  local node = redis.call('HGET', KEYS[1], id)
  if node then
    out[#out + 1] = id
    out[#out + 1] = node
  end
end
return out
`);
