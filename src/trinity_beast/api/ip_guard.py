"""Per-client-IP token buckets, checked before anything else (routing, auth, parsing).

One bucket per source IP: ``ip_rate_limit_qps`` tokens per second up to ``ip_rate_limit_burst``.
The table is bounded: past ``MAX_TRACKED`` addresses the least recently seen half is dropped
(a dropped address simply starts again with a full bucket). ``ip_rate_limit_qps = 0`` disables
the guard.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from trinity_beast.errors import TooManyRequests
from trinity_beast.params.values import Parameters

MAX_TRACKED = 100_000


class IpGuard:
    def __init__(self, params: Parameters, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        self.refused = 0
        self._read(params, frozenset())
        params.subscribe(self._read)

    def _read(self, params: Parameters, _changed: frozenset[str]) -> None:
        self.rate = params.get_float("ip_rate_limit_qps")
        self.burst = float(params.get_int("ip_rate_limit_burst"))

    def check(self, ip: str) -> None:
        """Take one token for ``ip``; raise :class:`TooManyRequests` when it has none."""
        if self.rate <= 0:
            return
        now = self._clock()
        bucket = self._buckets.get(ip)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                for _ in range(MAX_TRACKED // 2):
                    self._buckets.popitem(last=False)
            bucket = self._buckets[ip] = [self.burst, now]
        else:
            self._buckets.move_to_end(ip)
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] < 1.0:
            self.refused += 1
            raise TooManyRequests(f"too many requests from {ip}",
                                  code="ip_rate_limited", retry_after=(1.0 - bucket[0]) / self.rate)
        bucket[0] -= 1.0
