"""The cache interface: hashes and publish/subscribe, the operations the data layer needs.

Names given to a cache are logical (``app:config``, ``keys:invalidate``); the implementation adds
the configured prefix (``BEAST_REDIS_PREFIX``), so tests and several deployments can share one
Valkey.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol


class CacheUnavailable(RuntimeError):
    """The cache could not be reached or answered with an error (the caller falls back)."""


class Subscription(Protocol):
    """An active subscription to one channel: messages published after it was opened."""

    async def get(self) -> str:
        """The next message (waits until one arrives)."""
        ...

    def __aiter__(self) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...


class Cache(Protocol):
    shared: bool
    """True when other processes see the same data (Valkey); False for the in-process stand-in."""

    async def hash_get_all(self, name: str) -> dict[str, str]: ...

    async def hash_replace(self, name: str, values: Mapping[str, str]) -> None:
        """Make the hash hold exactly ``values``, atomically for readers."""
        ...

    async def publish(self, channel: str, message: str) -> int:
        """Send ``message``; returns how many subscribers received it."""
        ...

    async def subscribe(self, channel: str) -> Subscription:
        """Subscribe; messages published once this returns are delivered."""
        ...

    async def aclose(self) -> None: ...
