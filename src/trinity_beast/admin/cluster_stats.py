"""Cluster stats: every process publishes its figures to Valkey; ``/admin/cluster-stats`` adds
them up.

Each process writes the hash ``{prefix}cluster:stats:{node}:{pid}`` every
:data:`PUBLISH_SECONDS` with a time to live of :data:`TTL_SECONDS`, so a node that stops
disappears from the view within half a minute. The pid is in the name because the worker
processes of one node (``beast serve --workers N``) each count their own requests. Without
Valkey the view is this process alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping

import msgspec

from trinity_beast.cache.base import CacheUnavailable
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.http import HttpServer
from trinity_beast.prices.book import PriceBook
from trinity_beast.sync.target import guarded, scan_names

log = logging.getLogger(__name__)

STATS = "cluster:stats:"
PUBLISH_SECONDS = 10.0
TTL_SECONDS = 30
Sleep = Callable[[float], Awaitable[None]]


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """What one process counts (requests and errors since it started)."""

    requests: int = 0
    errors: int = 0
    feeds_live: int = 0
    assets_priced: int = 0


class ProcessStats(msgspec.Struct, frozen=True, kw_only=True):
    node: str
    role: str
    pid: int
    uptime_s: float
    published_at: float
    requests: int
    errors: int
    feeds_live: int
    assets_priced: int


class ClusterView(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    """``valkey`` (every published process) or ``local`` (this process only)."""
    totals: dict[str, int]
    processes: list[ProcessStats]


def node_figures(statuses: Mapping[str, FeedStatus], book: PriceBook,
                 servers: Mapping[str, HttpServer]) -> Callable[[], Figures]:
    """The figures of a node's feeds, price book and HTTP listeners (read when called)."""
    def figures() -> Figures:
        return Figures(
            requests=sum(server.requests_total for server in servers.values()),
            errors=sum(server.errors_total for server in servers.values()),
            feeds_live=sum(1 for status in statuses.values() if status.live),
            assets_priced=len(book))
    return figures


class ClusterStats:
    def __init__(self, node: str, role: str, figures: Callable[[], Figures],
                 cache: ValkeyCache | None, *, clock: Callable[[], float] = time.time,
                 pid: int | None = None) -> None:
        self.node = node
        self.role = role
        self.figures = figures
        self.cache = cache
        self.clock = clock
        self.pid = os.getpid() if pid is None else pid
        self.started = clock()

    @property
    def name(self) -> str:
        return f"{STATS}{self.node}:{self.pid}"

    def snapshot(self) -> ProcessStats:
        now = self.clock()
        return ProcessStats(node=self.node, role=self.role, pid=self.pid,
                            uptime_s=round(now - self.started, 1), published_at=now,
                            **msgspec.structs.asdict(self.figures()))

    async def publish_once(self) -> None:
        if self.cache is None:
            return
        fields = {k: str(v) for k, v in msgspec.structs.asdict(self.snapshot()).items()}
        key = self.cache.key(self.name)
        async with self.cache.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.expire(key, TTL_SECONDS)
            await guarded("HSET", pipe.execute())

    async def run(self, *, sleep: Sleep = asyncio.sleep,
                  interval: float = PUBLISH_SECONDS) -> None:
        """Publish every ``interval`` seconds until cancelled (a failure waits for the next)."""
        while True:
            try:
                await self.publish_once()
            except CacheUnavailable as exc:
                log.warning("cluster stats not published: %s", exc)
            await sleep(interval)

    async def aggregate(self) -> ClusterView:
        """Every live process's figures (this one's fresh), sorted by node and pid."""
        mine = self.snapshot()
        processes = [mine]
        source = "local"
        if self.cache is not None:
            try:
                processes += [p for p in await self._published() if p.pid != mine.pid
                              or p.node != mine.node]
                source = "valkey"
            except CacheUnavailable as exc:
                log.warning("cluster stats read from this process only: %s", exc)
        processes.sort(key=lambda p: (p.node, p.pid))
        return ClusterView(source=source, totals=_totals(processes), processes=processes)

    async def _published(self) -> list[ProcessStats]:
        assert self.cache is not None
        cache = self.cache
        names = [name async for name in scan_names(cache, STATS)]
        async with cache.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(cache.key(name))
            hashes = await guarded("HGETALL", pipe.execute())
        found = []
        for fields in hashes:
            try:
                found.append(msgspec.convert(fields, ProcessStats, strict=False))
            except msgspec.ValidationError:
                continue  # expired between SCAN and HGETALL, or not ours
        return found


def _totals(processes: list[ProcessStats]) -> dict[str, int]:
    return {
        "nodes": len({p.node for p in processes}),
        "processes": len(processes),
        "requests": sum(p.requests for p in processes),
        "errors": sum(p.errors for p in processes),
    }
