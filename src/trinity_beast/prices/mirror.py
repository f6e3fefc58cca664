"""Tier 2: the shared price mirror (Valkey ``price:{ASSET}``), and its in-memory stand-in.

Tier 1 is flushed here every ``price_flush_interval_seconds`` in one pipeline; a node reads it
when its own book misses (for instance right after it started). Valkey is never on the revenue
path: every call is bounded by a timeout, and a failure is counted and answered with "nothing",
so the engine keeps serving from Tier 1 and recovers by itself when Valkey is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from trinity_beast.prices.quote import Quote, checked_price, rfc3339

log = logging.getLogger(__name__)


class PriceRecord(msgspec.Struct, frozen=True, gc=False):
    """The JSON kept at ``price:{ASSET}``; ``price`` is a JSON number with the exchange's digits."""

    asset: str
    price: msgspec.Raw
    source: str
    timestamp: str
    readable_timestamp: str
    exchange_ts: float
    received_ts: float
    cached: bool = False


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(PriceRecord).decode


def encode_record(quote: Quote) -> bytes:
    moment = datetime.fromtimestamp(quote.received_ts, tz=UTC)
    return _encode(PriceRecord(
        asset=quote.asset,
        price=msgspec.Raw(quote.price.encode()),
        source=quote.source,
        timestamp=rfc3339(quote.exchange_ts),
        readable_timestamp=moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
        exchange_ts=quote.exchange_ts,
        received_ts=quote.received_ts,
    ))


def decode_record(data: bytes | str) -> Quote:
    """A quote from a stored record; raises ``ValueError`` for anything malformed."""
    try:
        record = _decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(f"bad price record: {exc}") from exc
    price, value = checked_price(bytes(record.price))
    return Quote(record.asset, price, value, record.exchange_ts, record.received_ts, record.source)


class PriceMirror(Protocol):
    async def put_many(self, quotes: Sequence[Quote], ttl_seconds: int) -> bool:
        """Store quotes; ``False`` when the mirror could not be reached (already logged)."""

    async def get(self, asset: str) -> Quote | None:
        """The stored quote of ``asset``, or ``None`` (missing, expired or unreachable)."""


class MemoryMirror:
    """The embedded default: a dict with expiry times, for one node."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[str, tuple[float, bytes]] = {}
        self._clock = clock

    async def put_many(self, quotes: Sequence[Quote], ttl_seconds: int) -> bool:
        expires = self._clock() + ttl_seconds
        for quote in quotes:
            self._items[quote.asset] = (expires, encode_record(quote))
        return True

    async def get(self, asset: str) -> Quote | None:
        item = self._items.get(asset)
        if item is None:
            return None
        if item[0] < self._clock():
            del self._items[asset]
            return None
        return decode_record(item[1])


class RedisMirror:
    """``{prefix}price:{ASSET}`` JSON strings in Valkey/Redis, written in one pipeline."""

    def __init__(self, redis: Redis, *, prefix: str = "", timeout: float = 0.5) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout = timeout
        self.failures = 0

    def key(self, asset: str) -> str:
        return f"{self._prefix}price:{asset}"

    async def put_many(self, quotes: Sequence[Quote], ttl_seconds: int) -> bool:
        if not quotes:
            return True
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for quote in quotes:
                    pipe.set(self.key(quote.asset), encode_record(quote), ex=ttl_seconds)
                await asyncio.wait_for(pipe.execute(), self._timeout * 4)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed("flush", exc)
            return False
        return True

    async def get(self, asset: str) -> Quote | None:
        try:
            data = await asyncio.wait_for(self._redis.get(self.key(asset)), self._timeout)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed("get", exc)
            return None
        if data is None:
            return None
        try:
            return decode_record(data)
        except ValueError:
            log.warning("unreadable price record", extra={"asset": asset})
            return None

    def _failed(self, operation: str, exc: BaseException) -> None:
        self.failures += 1
        log.warning("price mirror unavailable", extra={"op": operation, "error": repr(exc)})
