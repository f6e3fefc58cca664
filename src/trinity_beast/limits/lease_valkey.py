"""The lease authority shared by every worker of every node: one Lua script per lease in Valkey.

Each key's global bucket is the hash ``{prefix}ratelimit:{key_id}``: ``t`` (free tokens),
``ts`` (time of the last refill) and one ``h:{holder}`` field per holder
(``"{held}:{last report}"``). The script runs the algorithm of :mod:`.lease` atomically, with
the time taken from the server (``TIME``), so the nodes' clocks do not matter. The hash expires
once it would be full again and no holder has reported for ``holder_ttl`` seconds: an absent
hash is a full bucket. Several keys' leases travel in one pipeline (one round trip).
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from trinity_beast.limits.lease import HOLDER_TTL, AuthorityUnavailable, Grant, LeaseRequest

LEASE_SCRIPT = """
local key = KEYS[1]
local me = 'h:' .. ARGV[1]
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local held = tonumber(ARGV[4])
local want = tonumber(ARGV[5])
local released = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])
local spent = tonumber(ARGV[8])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local tokens, stamp
local others, live = 0, 1
local fields = redis.call('HGETALL', key)
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if name == 't' then
    tokens = tonumber(value)
  elseif name == 'ts' then
    stamp = tonumber(value)
  else
    local sep = string.find(value, ':', 1, true)
    local amount = tonumber(string.sub(value, 1, sep - 1))
    local seen = tonumber(string.sub(value, sep + 1))
    if now - seen > ttl then
      redis.call('HDEL', key, name)
    elseif name ~= me then
      others = others + amount
      live = live + 1
    end
  end
end
local cap = burst - others - held
if tokens == nil or stamp == nil then
  tokens = cap
  stamp = now
end
tokens = tokens + released
if now > stamp then
  tokens = math.min(cap, tokens + (now - stamp) * rate)
  stamp = now
elseif tokens > cap then
  tokens = cap
end
tokens = tokens - spent
local share = math.max(1, math.floor(burst / live))
local granted = math.max(0, math.min(want, share - held, math.floor(tokens + 1e-9)))
tokens = tokens - granted
local holding = held + granted
if holding > 0 or want > 0 then
  redis.call('HSET', key, me, string.format('%d:%.6f', holding, now))
else
  redis.call('HDEL', key, me)
end
redis.call('HSET', key, 't', string.format('%.17g', tokens), 'ts', string.format('%.17g', stamp))
local wait = 0
if tokens < 1 - 1e-9 then
  wait = (1 - tokens) / rate
end
local refill = math.max(0, (burst - tokens) / rate)
redis.call('PEXPIRE', key, math.ceil((refill + ttl) * 1000))
return {granted, string.format('%.17g', tokens), string.format('%.17g', wait)}
"""


class ValkeyAuthority:
    """:class:`~.lease.LeaseAuthority` over a shared Valkey (``client`` from ``redis_client``;
    its socket timeouts bound a lease call)."""

    def __init__(self, client: Redis, prefix: str = "", holder_ttl: float = HOLDER_TTL) -> None:
        self._client = client
        self._prefix = prefix
        self._holder_ttl = holder_ttl
        self._script = client.register_script(LEASE_SCRIPT)

    def key(self, key_id: str) -> str:
        return f"{self._prefix}ratelimit:{key_id}"

    async def lease(self, requests: Sequence[LeaseRequest]) -> list[Grant]:
        if not requests:
            return []
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for r in requests:
                    await self._script(
                        keys=[self.key(r.key_id)],
                        args=[r.holder, repr(float(r.rate)), r.burst, r.held, r.want, r.released,
                              repr(self._holder_ttl), r.spent],
                        client=pipe,
                    )
                replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise AuthorityUnavailable(f"Valkey lease failed: {exc}") from exc
        return [Grant(int(granted), float(left), float(wait)) for granted, left, wait in replies]
