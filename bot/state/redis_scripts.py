"""The Redis backend's Lua scripts: each operation that reads and then writes is one script,
so it is atomic across workers and costs one round trip.

Times come from Redis's own clock (``TIME``), so that several machines agree on leases
and buckets. Scripts touch key names built from their arguments (lease keys of lock
tokens, collapse claims), which a standalone Redis allows; Redis Cluster is not supported.
"""

from __future__ import annotations

_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

LOCK_ACQUIRE = """
-- KEYS: lock queue, state. ARGV: token, lease ms, join (1/0), lease key prefix, queue ttl ms.
-- The holder is the queue's head; a head whose lease key expired belonged to a dead worker.
local queue, token, lease = KEYS[1], ARGV[1], ARGV[4] .. ARGV[1]
if ARGV[3] == '1' or not redis.call('LPOS', queue, token) then redis.call('RPUSH', queue, token) end
redis.call('PEXPIRE', queue, ARGV[5])
redis.call('SET', lease, '1', 'PX', ARGV[2])
while true do
  local head = redis.call('LINDEX', queue, 0)
  if head == token then
    local state = redis.call('GET', KEYS[2])
    if state then return {1, state} end
    return {1}
  end
  if redis.call('EXISTS', ARGV[4] .. head) == 1 then return {0} end
  redis.call('LPOP', queue)
end
"""

LOCK_RELEASE = """
-- KEYS: lock queue, state. ARGV: token, mode (keep/put/del), state json, state ttl ms, lease prefix.
-- Writes the turn's state only while still the holder; returns 0 when the lock was lost.
local queue, token = KEYS[1], ARGV[1]
redis.call('DEL', ARGV[5] .. token)
if redis.call('LINDEX', queue, 0) ~= token then
  redis.call('LREM', queue, 1, token)
  return 0
end
if ARGV[2] == 'put' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
elseif ARGV[2] == 'del' then redis.call('DEL', KEYS[2]) end
redis.call('LPOP', queue)
return 1
"""

LOCK_ABANDON = """
-- KEYS: lock queue. ARGV: token, lease prefix. A waiter that gives up leaves the queue.
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('DEL', ARGV[2] .. ARGV[1])
return 1
"""

FIRST_VALUE = """
-- KEYS: value. ARGV: value, ttl ms.
local kept = redis.call('GET', KEYS[1])
if kept then return kept end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
"""

TAKE_TOKEN = (
    _NOW
    + """
-- KEYS: bucket. ARGV: capacity, tokens per ms. Returns 1 allowed, 2 refused (say so), 0 refused.
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'noticed')
local tokens, at = tonumber(stored[1]) or capacity, tonumber(stored[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local result, noticed = 1, '0'
if tokens >= 1 then tokens = tokens - 1
elseif stored[3] == '1' then result, noticed = 0, '1'
else result, noticed = 2, '1' end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now), 'noticed', noticed)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1000)
return result
"""
)

INBOX_PUSH = (
    _NOW
    + """
-- KEYS: chat queue, ready set, size, id claim, collapse claim (or the id claim again).
-- ARGV: entry json, dedup ms, capacity, per-chat capacity, chat, collapse ms, has collapse (1/0).
if redis.call('EXISTS', KEYS[4]) == 1 then return 'duplicate' end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[3]) then return 'full' end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
if ARGV[7] == '1' and not redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[6]) then return 'collapsed' end
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 'chat_full' end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[5])
return 'accepted'
"""
)

INBOX_TAKE = (
    _NOW
    + """
-- KEYS: chat queue, ready set, chat lease. ARGV: owner, lease ms, chat.
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return false end
local visible_at = redis.call('ZSCORE', KEYS[2], ARGV[3])
if not holder and visible_at and tonumber(visible_at) > now then return false end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('ZREM', KEYS[2], ARGV[3])
  if holder then redis.call('DEL', KEYS[3]) end
  return false
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
return head
"""
)

INBOX_SAVE = """
-- KEYS: chat queue, chat lease. ARGV: owner, entry id, progress.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then return 0 end
local entry = cjson.decode(head)
if entry['id'] ~= ARGV[2] then return 0 end
entry['progress'] = ARGV[3]
redis.call('LSET', KEYS[1], 0, cjson.encode(entry))
return 1
"""

INBOX_DONE = (
    _NOW
    + """
-- KEYS: chat queue, ready set, chat lease, size. ARGV: owner, entry id, lease ms, chat, claim prefix.
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return false end
local head = redis.call('LINDEX', KEYS[1], 0)
if head then
  local entry = cjson.decode(head)
  if entry['id'] == ARGV[2] then
    redis.call('LPOP', KEYS[1])
    redis.call('DECR', KEYS[4])
    if type(entry['collapse']) == 'string' then redis.call('DEL', ARGV[5] .. entry['collapse']) end
  end
end
local following = redis.call('LINDEX', KEYS[1], 0)
if not following then
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[2], ARGV[4])
  return false
end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[4])
return following
"""
)

INBOX_EXTEND = (
    _NOW
    + """
-- KEYS: ready set, chat lease. ARGV: owner, lease ms, chat.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[3])
return 1
"""
)

INBOX_RELEASE = (
    _NOW
    + """
-- KEYS: chat queue, ready set, chat lease. ARGV: owner, delay ms, chat.
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[3])
if redis.call('LLEN', KEYS[1]) > 0 then redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3]) end
return 1
"""
)

INBOX_READY = (
    _NOW
    + """
-- KEYS: ready set. ARGV: limit.
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
"""
)
