"""The in-process cache: the embedded default when no ``REDIS_URL`` is configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping


class MemorySubscription:
    def __init__(self, cache: MemoryCache, channel: str) -> None:
        self._cache = cache
        self._channel = channel
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    async def get(self) -> str:
        return await self.queue.get()

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            yield await self.get()

    async def aclose(self) -> None:
        self._cache.unsubscribe(self._channel, self)


class MemoryCache:
    """Hashes in a dict and publish/subscribe between tasks of this process."""

    shared = False

    def __init__(self) -> None:
        self._hashes: dict[str, dict[str, str]] = {}
        self._subscribers: dict[str, list[MemorySubscription]] = {}

    async def hash_get_all(self, name: str) -> dict[str, str]:
        return dict(self._hashes.get(name, {}))

    async def hash_replace(self, name: str, values: Mapping[str, str]) -> None:
        self._hashes[name] = dict(values)

    async def publish(self, channel: str, message: str) -> int:
        subscribers = self._subscribers.get(channel, [])
        for subscription in subscribers:
            subscription.queue.put_nowait(message)
        return len(subscribers)

    async def subscribe(self, channel: str) -> MemorySubscription:
        subscription = MemorySubscription(self, channel)
        self._subscribers.setdefault(channel, []).append(subscription)
        return subscription

    def unsubscribe(self, channel: str, subscription: MemorySubscription) -> None:
        subscribers = self._subscribers.get(channel, [])
        if subscription in subscribers:
            subscribers.remove(subscription)

    async def aclose(self) -> None:
        self._subscribers.clear()
