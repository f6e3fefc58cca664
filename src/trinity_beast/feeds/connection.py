"""The one connection loop every exchange feed runs: all socket handling lives here.

Connect → subscribe → read frames into the book, with the adapter's keepalive, an idle watchdog
fed by data frames only (heartbeats do not prove prices are flowing), live subscription changes,
and reconnects with capped exponential backoff and full jitter. Nothing an exchange sends can
raise out of this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from trinity_beast.feeds.base import ExchangeAdapter, MalformedFrame
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.prices.quote import Quote

log = logging.getLogger(__name__)

Connect = Callable[[str], Any]
"""``websockets.asyncio.client.connect``-like: ``async with connect(url) as ws``."""


class QuoteSink(Protocol):
    """Where a feed writes its quotes: the Tier 1 ``PriceBook`` (or something wrapping it)."""

    def update(self, quote: Quote) -> None: ...

    def drop(self, asset: str, source: str) -> None: ...


class Subscription:
    """The assets a feed should be subscribed to; ``changed`` fires when the set changes."""

    def __init__(self, assets: Iterable[str] = ()) -> None:
        self.assets: frozenset[str] = frozenset(assets)
        self.changed = asyncio.Event()

    def set(self, assets: Iterable[str]) -> None:
        new = frozenset(assets)
        if new != self.assets:
            self.assets = new
            self.changed.set()


@dataclass(slots=True)
class Backoff:
    """Capped exponential backoff with jitter: ``min(cap, initial·2ⁿ)·U(0.5, 1)``."""

    initial: Callable[[], float]
    cap: Callable[[], float]
    rng: Callable[[], float] = random.random
    attempt: int = 0

    def next_delay(self) -> float:
        raw = min(self.cap(), self.initial() * float(2 ** min(self.attempt, 30)))
        self.attempt += 1
        return float(raw * (0.5 + self.rng() / 2))

    def reset(self) -> None:
        self.attempt = 0


class _IdleConnection(Exception):
    pass


class _ServerRequestedReconnect(Exception):
    pass


@dataclass
class FeedLoop:
    """One exchange's feed: ``await run()`` until cancelled."""

    adapter: ExchangeAdapter
    url: str
    book: QuoteSink
    status: FeedStatus
    subscription: Subscription
    backoff: Backoff
    connect: Connect = field(default=lambda url: _default_connect(url))
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _malformed_logged: int = 0

    async def run(self) -> None:
        while True:
            if not self.subscription.assets:
                self.subscription.changed.clear()
                await self.subscription.changed.wait()
                continue
            delay = await self._session()
            await self.sleep(delay)

    async def _session(self) -> float:
        """One connection's life; returns how long to wait before the next attempt."""
        try:
            async with self.connect(self.url) as ws:
                await self._serve(ws)
        except _ServerRequestedReconnect:
            self.status.last_error = "server announced disconnect"
            self.backoff.reset()
        except _IdleConnection:
            self.status.last_error = f"no data for {self.status.idle_timeout:g}s"
        except (OSError, TimeoutError, WebSocketException) as exc:
            self.status.last_error = repr(exc)
        finally:
            if self.status.connected:
                self.status.connected = False
                self.status.reconnects += 1
        delay = self.backoff.next_delay()
        log.info("feed disconnected", extra={"exchange": self.adapter.name,
                                             "reason": self.status.last_error,
                                             "retry_in": round(delay, 3)})
        return delay

    async def _serve(self, ws: ClientConnection) -> None:
        status = self.status
        status.connected = True
        status.connects += 1
        status.connected_at = self.clock()
        subscribed = await self._subscribe(ws, self.subscription.assets)
        tasks = [asyncio.ensure_future(self._read(ws)),
                 asyncio.ensure_future(self._watch_idle()),
                 asyncio.ensure_future(self._follow_subscription(ws, subscribed))]
        if self.adapter.keepalive_seconds:
            tasks.append(asyncio.ensure_future(self._keepalive(ws, self.adapter.keepalive_seconds)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _subscribe(self, ws: ClientConnection, assets: frozenset[str]) -> set[str]:
        for message in self.adapter.subscribe_messages(sorted(assets)):
            await ws.send(message)
        self.status.subscribed = assets
        return set(assets)

    async def _read(self, ws: ClientConnection) -> None:
        adapter, book, status, clock = self.adapter, self.book, self.status, self.clock
        async for frame in ws:
            received = clock()
            status.frames += 1
            status.last_frame_at = received
            try:
                parsed = adapter.parse(frame, received)
            except MalformedFrame as exc:
                status.malformed += 1
                self._log_malformed(frame, exc)
                continue
            if parsed.is_data:
                status.data_frames += 1
                status.last_data_at = received
                self.backoff.reset()
                for quote in parsed.quotes:
                    book.update(quote)
                status.quotes += len(parsed.quotes)
            if parsed.reconnect:
                raise _ServerRequestedReconnect

    async def _watch_idle(self) -> None:
        status = self.status
        while True:
            timeout = status.idle_timeout
            await self.sleep(min(1.0, timeout / 4))
            since = max(status.last_data_at or 0.0, status.connected_at or 0.0)
            if self.clock() - since > status.idle_timeout:
                raise _IdleConnection

    async def _keepalive(self, ws: ClientConnection, every: float) -> None:
        while True:
            await self.sleep(every)
            message = self.adapter.keepalive_message()
            if message is not None:
                await ws.send(message)

    async def _follow_subscription(self, ws: ClientConnection, subscribed: set[str]) -> None:
        wanted = self.subscription
        while True:
            await wanted.changed.wait()
            wanted.changed.clear()
            target = wanted.assets
            removed = sorted(subscribed - target)
            added = sorted(target - subscribed)
            if removed:
                for message in self.adapter.unsubscribe_messages(removed):
                    await ws.send(message)
                for asset in removed:
                    self.book.drop(asset, self.adapter.source)
            if added:
                for message in self.adapter.subscribe_messages(added):
                    await ws.send(message)
            subscribed.clear()
            subscribed.update(target)
            self.status.subscribed = frozenset(target)
            if not target:
                return

    def _log_malformed(self, frame: str | bytes, exc: MalformedFrame) -> None:
        self._malformed_logged += 1
        count = self._malformed_logged
        if count <= 10 or count % 1000 == 0:
            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            preview = text[:200]
            log.warning("malformed frame", extra={"exchange": self.adapter.name, "reason": str(exc),
                                                  "frame": preview, "count": count})


def _default_connect(url: str) -> Any:
    return connect(url, open_timeout=10, ping_interval=20, ping_timeout=20, close_timeout=2,
                   max_size=8 * 1024 * 1024, max_queue=1024,
                   user_agent_header="trinity-beast")
