"""The recovery loop: replays the spool into the database and ends the writer's outage.

It runs at start (a restart replays what the previous run spooled), whenever the writer
spools, and every ``idle_check`` seconds (segments left by other processes on the same
``var_dir``). While the database stays down it retries with capped, jittered exponential
backoff. Replayed records go straight to the database, also in the Valkey-stream mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from trinity_beast.db.engine import DatabaseUnavailable
from trinity_beast.usage.counters import LogThrottle, UsageCounters
from trinity_beast.usage.record import UsageRecord
from trinity_beast.usage.spool import Spool
from trinity_beast.usage.writer import UsageWriter

log = logging.getLogger(__name__)


class SpoolRecovery:
    def __init__(self, spool: Spool, writer: UsageWriter, counters: UsageCounters, *,
                 min_delay: float = 0.5, max_delay: float = 30.0,
                 idle_check: float = 5.0) -> None:
        self.spool = spool
        self.writer = writer
        self.counters = counters
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.idle_check = idle_check
        self._failure_log = LogThrottle(60.0)

    async def recover_once(self) -> int:
        """Replay every segment this process can claim, then end the outage if one is on;
        returns the records replayed. Raises :class:`DatabaseUnavailable` if still down."""
        replayed = await self.spool.replay(self._write)
        if self.writer.outage:
            await self.writer.probe()
        if replayed:
            log.info("usage spool: %d records replayed", replayed)
        return replayed

    async def run(self) -> None:
        delay = self.min_delay
        while True:
            self.writer.spooled.clear()  # set again by any append from here on
            try:
                await self.recover_once()
            except (DatabaseUnavailable, OSError) as exc:  # database down, or the disk failing
                if self._failure_log.ready():
                    log.warning("usage spool replay deferred: %s", exc)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
                delay = min(delay * 2, self.max_delay)
                continue
            delay = self.min_delay
            await self._idle()

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.writer.spooled.wait(), self.idle_check)

    async def _write(self, records: list[UsageRecord]) -> None:
        await self.writer.write(records)
        self.counters.replayed += len(records)
