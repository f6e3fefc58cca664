"""Runs one :class:`FeedLoop` per exchange and keeps subscriptions in step with the parameters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from trinity_beast.feeds.base import ExchangeAdapter
from trinity_beast.feeds.connection import Backoff, Connect, FeedLoop, QuoteSink, Subscription
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.params.values import Parameters

log = logging.getLogger(__name__)


class FeedManager:
    def __init__(
        self,
        adapters: Mapping[str, ExchangeAdapter],
        book: QuoteSink,
        params: Parameters,
        *,
        urls: Mapping[str, str] | None = None,
        connect: Connect | None = None,
    ) -> None:
        self.params = params
        self.statuses: dict[str, FeedStatus] = {}
        self.loops: dict[str, FeedLoop] = {}
        self._tasks: list[asyncio.Task[None]] = []
        for name, adapter in adapters.items():
            status = FeedStatus(exchange=name)
            subscription = Subscription(params.get_assets(f"{name}_prewarm_assets"))
            backoff = Backoff(lambda: params.get_float("feed_backoff_initial_seconds"),
                              lambda: params.get_float("feed_backoff_max_seconds"))
            loop = FeedLoop(adapter, (urls or {}).get(name, adapter.ws_url), book, status,
                            subscription, backoff)
            if connect is not None:
                loop.connect = connect
            self.statuses[name] = status
            self.loops[name] = loop
        self._apply(params, frozenset())
        params.subscribe(self._apply)

    def _apply(self, params: Parameters, _changed: frozenset[str]) -> None:
        idle = params.get_float("feed_idle_timeout_seconds")
        for name, loop in self.loops.items():
            loop.status.idle_timeout = idle
            loop.subscription.set(params.get_assets(f"{name}_prewarm_assets"))

    def start(self) -> None:
        """Start every feed, ``feed_connect_stagger_ms`` apart so they do not connect at once."""
        stagger = self.params.get_int("feed_connect_stagger_ms") / 1000.0
        for index, (name, loop) in enumerate(self.loops.items()):
            task = asyncio.ensure_future(self._run(loop, index * stagger))
            task.set_name(f"feed:{name}")
            self._tasks.append(task)

    @staticmethod
    async def _run(loop: FeedLoop, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await loop.run()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for status in self.statuses.values():
            status.connected = False
