"""Who may call an admin endpoint: an attempt limit per client IP, then the admin key.

The key is ``ADMIN_API_KEY`` from the environment or the secrets file, compared in constant
time. Without one every admin endpoint answers 403 ``admin_disabled``: never open. In front of
the key check, each client IP gets :data:`ATTEMPTS` attempts per :data:`WINDOW_SECONDS` (the
seed's WAF rule "Rate Limit Admin (100/5min)"), as a token bucket in memory: a guesser is slowed
to one attempt every three seconds, and the answer does not tell it whether its key was right.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from trinity_beast.errors import Forbidden, TooManyRequests, Unauthorized
from trinity_beast.limits.bucket import RateLimits, TokenBucket
from trinity_beast.secrets import Secret

ATTEMPTS = 100
WINDOW_SECONDS = 300.0
MAX_CLIENTS = 10_000
"""Clients remembered; past this, idle ones (full bucket) are forgotten, then the oldest."""


class AdminRateLimited(TooManyRequests):
    def __init__(self, retry_after: float, *, first: bool) -> None:
        super().__init__(f"too many admin attempts from this address; retry in "
                         f"{retry_after:.0f} s", code="admin_rate_limited",
                         retry_after=retry_after)
        self.first = first
        """The first refusal since this client's last admitted attempt."""


class _Client:
    __slots__ = ("bucket", "refused")

    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket
        self.refused = 0


class AdminGuard:
    def __init__(self, admin_key: Secret | None, *, attempts: int = ATTEMPTS,
                 window: float = WINDOW_SECONDS, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._key = admin_key.reveal().encode() if admin_key else b""
        self.limits = RateLimits(rate=attempts / window, burst=attempts)
        self.max_clients = max_clients
        self.clock = clock
        self._clients: dict[str, _Client] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._key)

    def admit(self, client_ip: str) -> int:
        """Count one attempt of ``client_ip``; returns the attempts refused since its last
        admitted one, or raises :class:`AdminRateLimited`."""
        now = self.clock()
        client = self._clients.get(client_ip)
        if client is None:
            client = self._remember(client_ip, now)
        wait = client.bucket.take(now, self.limits)
        if wait is not None:
            client.refused += 1
            raise AdminRateLimited(wait, first=client.refused == 1)
        refused, client.refused = client.refused, 0
        return refused

    def check_key(self, presented: str | None) -> None:
        """Raise unless ``presented`` (the ``X-Admin-Key`` header) is the admin key."""
        if not self._key:
            raise Forbidden("admin endpoints are disabled: no ADMIN_API_KEY is configured",
                            code="admin_disabled")
        if not presented:
            raise Unauthorized("send the admin key in the X-Admin-Key header",
                               code="missing_admin_key")
        if not hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), self._key):
            raise Forbidden("that admin key is not valid", code="invalid_admin_key")

    def _remember(self, client_ip: str, now: float) -> _Client:
        if len(self._clients) >= self.max_clients:
            self._forget(now)
        client = _Client(TokenBucket(float(self.limits.burst), now))
        self._clients[client_ip] = client
        return client

    def _forget(self, now: float) -> None:
        for ip, client in list(self._clients.items()):
            client.bucket.refill(now, self.limits.rate, self.limits.burst)
            if client.bucket.tokens >= self.limits.burst:
                del self._clients[ip]
        while len(self._clients) >= self.max_clients:
            del self._clients[next(iter(self._clients))]
