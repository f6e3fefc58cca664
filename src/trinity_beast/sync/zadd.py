"""ZADD in large chunks over several connections at once, so reading and writing overlap."""

from __future__ import annotations

import asyncio
from typing import Any

from trinity_beast.cache.base import CacheUnavailable
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.sync.target import guarded

IN_FLIGHT = 4
"""ZADD calls pending at once: enough to keep Valkey busy while the next chunk is read."""


class ZaddWriter:
    """Adds ``[score, member, …]`` chunks to one sorted set; :meth:`close` (or leaving the
    ``async with`` block) waits for all, and an error cancels what is still pending.

    With ``expire`` every chunk also (re)sets the key's time to live (a rebuild key that a
    dead run leaves behind goes away by itself).
    """

    def __init__(self, cache: ValkeyCache, name: str, *, expire: int | None = None,
                 in_flight: int = IN_FLIGHT) -> None:
        self.cache = cache
        self.key = cache.key(name)
        self.expire = expire
        self._slots = asyncio.Semaphore(in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None

    async def __aenter__(self) -> ZaddWriter:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            await self.close()
            return
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def add(self, flat: list[Any]) -> None:
        self._raise_failure()
        if not flat:
            return
        await self._slots.acquire()
        task = asyncio.ensure_future(self._send(flat))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        self._raise_failure()

    async def _send(self, flat: list[Any]) -> None:
        try:
            async with self.cache.client.pipeline(transaction=False) as pipe:
                pipe.execute_command("ZADD", self.key, *flat)
                if self.expire is not None:
                    pipe.expire(self.key, self.expire)
                await guarded("ZADD", pipe.execute())
        finally:
            self._slots.release()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            self._failure = task.exception()

    def _raise_failure(self) -> None:
        failure = self._failure
        if failure is None:
            return
        if isinstance(failure, CacheUnavailable):
            raise failure
        raise CacheUnavailable(f"Valkey ZADD failed: {failure}") from failure
