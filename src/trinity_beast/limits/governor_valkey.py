"""The governor's cluster board in Valkey: the seed's ``{adaptive:lpo}:*`` keys.

One Lua script per tick and node, atomically: write the node's numbers, forget nodes silent
for ``stale`` seconds, sum the cluster, set the throttle flag when the rule says so, answer.

* ``{adaptive:lpo}:inflight`` — hash node → in-flight count;
* ``{adaptive:lpo}:successes`` / ``{adaptive:lpo}:total`` — hash node → outcomes over that
  node's last window;
* ``{adaptive:lpo}:seen`` — hash node → server time of its last report;
* ``{adaptive:lpo}:throttle`` — the success ratio that triggered throttling (expires after the
  hold time); absent = not throttling.

The hashes expire ``stale`` seconds after the last report. The common hash tag keeps all of
them in one cluster slot (the configured prefix must not contain ``{``).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from trinity_beast.limits.board import BoardUnavailable, ClusterView, NodeReport

BOARD_SCRIPT = """
local inflight, successes, total, throttle, seen = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local node = ARGV[1]
local threshold = tonumber(ARGV[5])
local min_samples = tonumber(ARGV[6])
local hold_ms = tonumber(ARGV[7])
local stale = tonumber(ARGV[8])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('HSET', inflight, node, ARGV[2])
redis.call('HSET', successes, node, ARGV[3])
redis.call('HSET', total, node, ARGV[4])
redis.call('HSET', seen, node, string.format('%.6f', now))
local function as_table(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do
    t[flat[i]] = tonumber(flat[i + 1])
  end
  return t
end
local counts_in, counts_ok, counts_all = as_table(inflight), as_table(successes), as_table(total)
local others, ok, all = 0, 0, 0
local last = as_table(seen)
for name, at in pairs(last) do
  if now - at > stale then
    redis.call('HDEL', inflight, name)
    redis.call('HDEL', successes, name)
    redis.call('HDEL', total, name)
    redis.call('HDEL', seen, name)
  else
    ok = ok + (counts_ok[name] or 0)
    all = all + (counts_all[name] or 0)
    if name ~= node then
      others = others + (counts_in[name] or 0)
    end
  end
end
if all >= min_samples and ok < threshold * all then
  redis.call('SET', throttle, string.format('%.6f', ok / all), 'PX', hold_ms)
end
local stale_ms = math.ceil(stale * 1000)
for _, key in ipairs({inflight, successes, total, seen}) do
  redis.call('PEXPIRE', key, stale_ms)
end
return {others, ok, all, redis.call('GET', throttle)}
"""


class ValkeyBoard:
    def __init__(self, client: Redis, prefix: str = "", stale: float = 3.0) -> None:
        self._client = client
        self._keys = [f"{prefix}{{adaptive:lpo}}:{name}"
                      for name in ("inflight", "successes", "total", "throttle", "seen")]
        self._stale = stale
        self._script = client.register_script(BOARD_SCRIPT)

    def key(self, name: str) -> str:
        """The Valkey key of ``inflight``, ``successes``, ``total``, ``throttle`` or ``seen``."""
        return next(key for key in self._keys if key.endswith(f":{name}"))

    async def exchange(self, report: NodeReport) -> ClusterView:
        args: list[str | int] = [report.node, report.inflight, report.successes, report.total,
                repr(report.threshold), report.min_samples, max(1, round(report.hold * 1000)),
                repr(self._stale)]
        try:
            others, ok, total, flag = await self._script(keys=self._keys, args=args)
        except (RedisError, OSError) as exc:
            raise BoardUnavailable(f"Valkey governor board failed: {exc}") from exc
        return ClusterView(int(others), int(ok), int(total),
                           None if flag is None else float(flag))
