"""Tier 3: REST ticker calls to the exchanges, each bounded by a short timeout.

Errors are mapped at this I/O boundary to two outcomes a caller can act on: :class:`RestMiss`
(the exchange answered but has no usable price for the asset: 4xx or an unusable body) and
:class:`RestUnavailable` (timeout, connection failure, 5xx).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

import aiohttp

from trinity_beast import __version__
from trinity_beast.feeds.base import ExchangeAdapter, MalformedFrame
from trinity_beast.prices.quote import Quote

USER_AGENT = f"trinity-beast/{__version__} (+price oracle)"


class RestError(Exception):
    def __init__(self, exchange: str, asset: str, reason: str) -> None:
        super().__init__(f"{exchange} {asset}: {reason}")
        self.exchange = exchange
        self.reason = reason


class RestMiss(RestError):
    """The exchange does not list the asset, or answered something we cannot use."""


class RestUnavailable(RestError):
    """The exchange could not be reached in time, or failed (5xx)."""


class RestClient:
    def __init__(
        self,
        adapters: Mapping[str, ExchangeAdapter],
        base_urls: Mapping[str, str] | None = None,
        *,
        timeout: Callable[[], float] = lambda: 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._adapters = adapters
        self._base = {name: (base_urls or {}).get(name, a.rest_url) for name, a in adapters.items()}
        self._timeout = timeout
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self.calls = 0
        self.failures = 0

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _get(self, exchange: str, asset: str, path: str) -> bytes:
        self.calls += 1
        url = self._base[exchange] + path
        try:
            async with asyncio.timeout(self._timeout()):
                async with self._client().get(url, allow_redirects=False) as response:
                    body = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.failures += 1
            raise RestUnavailable(exchange, asset, _failure(exc)) from exc
        if response.status >= 500 or response.status == 429:
            self.failures += 1
            raise RestUnavailable(exchange, asset, f"HTTP {response.status}")
        if response.status >= 400:
            raise RestMiss(exchange, asset, f"HTTP {response.status}")
        return body

    async def ticker(self, exchange: str, asset: str) -> Quote:
        adapter = self._adapters[exchange]
        body = await self._get(exchange, asset, adapter.rest_ticker_path(asset))
        try:
            return adapter.parse_rest_ticker(body, asset, self._clock())
        except MalformedFrame as exc:
            raise RestMiss(exchange, asset, str(exc)) from exc

    async def batch(self, exchange: str, assets: Sequence[str]) -> list[Quote]:
        adapter = self._adapters[exchange]
        path = adapter.rest_batch_path(assets)
        if path is None:
            raise RestMiss(exchange, ",".join(assets), "no batch endpoint")
        body = await self._get(exchange, ",".join(assets), path)
        try:
            return adapter.parse_rest_batch(body, assets, self._clock())
        except MalformedFrame as exc:
            raise RestMiss(exchange, ",".join(assets), str(exc)) from exc


def _failure(exc: BaseException) -> str:
    """A short reason for a failed ticker call, fit for an answer's message (no driver reprs)."""
    if isinstance(exc, TimeoutError):
        return "request timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}"
    return f"request failed: {type(exc).__name__}"
