"""The usage pipeline of one process, assembled from the settings (see docs/usage-logging.md).

Embedded (no ``REDIS_URL``): buffer → flusher → writer → database (spool while it is down).
With Valkey: buffer → flusher → stream producer → ``{prefix}usage:stream`` → the
``usage-writers`` group (one consumer per node process) → writer → database. In both modes a
recovery loop replays the spool.

Lifecycle: :meth:`UsagePipeline.start` once the event loop runs; after the front-ends stopped
accepting requests, :meth:`~UsagePipeline.drain` hands off what is buffered and
:meth:`~UsagePipeline.stop` ends the background tasks.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.params.values import Parameters
from trinity_beast.settings import Settings
from trinity_beast.tasks import TaskGroup
from trinity_beast.usage.consumer import DEFAULT_CLAIM_IDLE_MS, StreamConsumer
from trinity_beast.usage.counters import UsageCounters
from trinity_beast.usage.queue import Handoff, UsageBuffer, deliver_buffered, run_flusher
from trinity_beast.usage.record import UsageSink
from trinity_beast.usage.recovery import SpoolRecovery
from trinity_beast.usage.spool import DEFAULT_MAX_BYTES, Spool
from trinity_beast.usage.stream import DEFAULT_MAXLEN, STREAM_NAME, StreamProducer
from trinity_beast.usage.writer import DEFAULT_WRITE_TIMEOUT, DirectHandoff, UsageWriter

DEFAULT_DRAIN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class UsageTuning:
    """Pipeline limits that are not runtime parameters (yet)."""

    spool_max_bytes: int = DEFAULT_MAX_BYTES
    stream_maxlen: int = DEFAULT_MAXLEN
    claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS
    write_timeout: float = DEFAULT_WRITE_TIMEOUT
    retry_max_seconds: float = 30.0
    """Largest pause between two replay attempts while the database is down."""


class UsagePipeline:
    def __init__(self, buffer: UsageBuffer, handoff: Handoff, writer: UsageWriter,
                 recovery: SpoolRecovery, consumer: StreamConsumer | None) -> None:
        self.buffer = buffer
        self.handoff = handoff
        self.writer = writer
        self.spool = writer.spool
        self.counters = writer.counters
        self.recovery = recovery
        self.consumer = consumer
        self._tasks = TaskGroup()
        self._closing = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None

    @property
    def sink(self) -> UsageSink:
        """What request handlers call ``submit`` on."""
        return self.buffer

    async def start(self) -> None:
        """Start the flusher, the recovery loop (replaying what a previous run spooled) and,
        with Valkey, this process's stream consumer."""
        self._closing.clear()
        self._flusher = self._tasks.spawn(
            "usage-flusher", run_flusher(self.buffer, self.handoff, self._closing))
        self._tasks.spawn("usage-recovery", self.recovery.run())
        if self.consumer is not None:
            self._consumer = self._tasks.spawn("usage-consumer", self.consumer.run(self._closing))

    # The timeout bounds the waiting, not the work: what is late is spooled, not abandoned,
    # which an asyncio.timeout around the call could not do.
    async def drain(self, timeout: float = DEFAULT_DRAIN_SECONDS) -> bool:  # noqa: ASYNC109
        """Hand off every buffered record (to the database, stream or spool) and let the
        consumer finish its batch; True when that took less than ``timeout`` seconds. What is
        still in flight then is spooled, so nothing submitted before is lost either way."""
        self._closing.set()
        self.buffer.wake()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(deliver_buffered(self.buffer, self.handoff))
        running = [task for task in (self._flusher, self._consumer)
                   if task is not None and not task.done()]
        late: set[asyncio.Task[None]] = set()
        if running:
            _, late = await asyncio.wait(running, timeout=timeout)
            for task in late:
                task.cancel()  # a cancelled hand-off spools its batch
            await asyncio.gather(*late, return_exceptions=True)
        leftover = self.buffer.take(len(self.buffer))
        if leftover:
            await self.writer.spool_or_drop(leftover)
        return not late

    async def stop(self, timeout: float = DEFAULT_DRAIN_SECONDS) -> None:  # noqa: ASYNC109
        """Drain, then end the background tasks; the spool stays for the next start."""
        await self.drain(timeout)
        await self._tasks.stop()
        self.spool.close()

    async def recover(self) -> int:
        """One replay of the spool now (raises ``DatabaseUnavailable`` while it is down)."""
        return await self.recovery.recover_once()

    @property
    def submitted(self) -> int:
        return self.counters.submitted

    @property
    def written(self) -> int:
        return self.counters.written

    @property
    def duplicates(self) -> int:
        return self.counters.duplicates

    @property
    def spooled(self) -> int:
        return self.counters.spooled

    @property
    def replayed(self) -> int:
        return self.counters.replayed

    @property
    def dropped(self) -> int:
        return self.counters.dropped

    @property
    def rejected(self) -> int:
        return self.counters.rejected

    @property
    def trimmed(self) -> int:
        return self.counters.trimmed


def build_usage_pipeline(settings: Settings, params: Parameters, engine: AsyncEngine,
                         redis: Redis | None, node: str,
                         tuning: UsageTuning | None = None) -> UsagePipeline:
    """The pipeline for ``settings``: the Valkey stream when ``redis`` is given, else in
    process; the spool under ``{var_dir}/spool/usage``. Nothing runs before ``start``."""
    tuning = tuning or UsageTuning()
    counters = UsageCounters()
    spool = Spool(settings.var_dir / "spool" / "usage", tuning.spool_max_bytes)
    writer = UsageWriter(engine, params, spool, counters, tuning.write_timeout)
    recovery = SpoolRecovery(spool, writer, counters, max_delay=tuning.retry_max_seconds)
    handoff: Handoff = DirectHandoff(writer)
    consumer = None
    if redis is not None:
        key = f"{settings.redis_prefix}{STREAM_NAME}"
        handoff = StreamProducer(redis, key, params, writer, tuning.stream_maxlen)
        consumer = StreamConsumer(redis, key, f"{node}-{os.getpid()}", writer, params,
                                  counters, claim_idle_ms=tuning.claim_idle_ms)
    return UsagePipeline(UsageBuffer(params, counters), handoff, writer, recovery, consumer)
