"""Valkey/Redis: client construction from ``REDIS_URL`` and the :class:`~.base.Cache` on top.

Timeouts and pool size come from the seed's parameters (§10): ``cache_dial_timeout_ms`` is the
connect timeout, the larger of ``cache_read_timeout_ms``/``cache_write_timeout_ms`` the socket
timeout (redis-py has one timeout for both directions), ``cache_pool_size`` the pool cap and
``cache_max_retries`` the retries of a failed call (jittered exponential backoff).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import suppress
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from trinity_beast.cache.base import CacheUnavailable
from trinity_beast.params.values import Parameters

T = TypeVar("T")


def redis_client(url: str, params: Parameters) -> Redis:
    """A pooled client (decoding replies to ``str``); connects lazily on first use."""
    socket_timeout_ms = max(params.get_int("cache_read_timeout_ms"),
                            params.get_int("cache_write_timeout_ms"))
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=params.get_int("cache_dial_timeout_ms") / 1000,
        socket_timeout=socket_timeout_ms / 1000,
        max_connections=params.get_int("cache_pool_size"),
        retry=Retry(ExponentialWithJitterBackoff(), params.get_int("cache_max_retries")),
    )


async def _guarded(action: str, call: Awaitable[T]) -> T:
    """Await a Valkey call, mapping its failures to :class:`CacheUnavailable`."""
    try:
        return await call
    except (RedisError, OSError) as exc:
        raise CacheUnavailable(f"Valkey {action} failed: {exc}") from exc


class ValkeySubscription:
    def __init__(self, pubsub: PubSub, channel: str) -> None:
        self._pubsub = pubsub
        self._channel = channel

    async def get(self) -> str:
        while True:
            message = await _guarded(
                "read", self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None))
            if message is not None and message.get("type") == "message":
                return str(message["data"])

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            yield await self.get()

    async def aclose(self) -> None:
        with suppress(RedisError, OSError):  # the connection is being dropped anyway
            await self._pubsub.unsubscribe(self._channel)
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py


class ValkeyCache:
    """The shared cache; every name is prefixed with ``prefix``."""

    shared = True

    def __init__(self, client: Redis, prefix: str = "") -> None:
        self.client = client
        self.prefix = prefix

    def key(self, name: str) -> str:
        """The Valkey key (or channel) of a logical name."""
        return f"{self.prefix}{name}"

    async def hash_get_all(self, name: str) -> dict[str, str]:
        values = await _guarded("HGETALL", self.client.hgetall(self.key(name)))
        return {str(field): str(value) for field, value in values.items()}

    async def hash_replace(self, name: str, values: Mapping[str, str]) -> None:
        key = self.key(name)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if values:
                mapping: dict[FieldT, EncodableT] = dict(values.items())
                pipe.hset(key, mapping=mapping)
            await _guarded("MULTI DEL/HSET", pipe.execute())

    async def publish(self, channel: str, message: str) -> int:
        return int(await _guarded("PUBLISH", self.client.publish(self.key(channel), message)))

    async def subscribe(self, channel: str) -> ValkeySubscription:
        pubsub = self.client.pubsub()
        key = self.key(channel)
        await _guarded("SUBSCRIBE", pubsub.subscribe(key))
        return ValkeySubscription(pubsub, key)

    async def aclose(self) -> None:
        await self.client.aclose()
