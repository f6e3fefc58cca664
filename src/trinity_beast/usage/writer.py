"""The usage writer: batches into the database, or into the spool while the database is down.

A failed batch is one of two things. Either the database could not take it now (unreachable,
restarting, not migrated, too busy, a timeout, or anything unexpected): the writer then
considers the database down, spools this and every following batch without trying, and leaves
it to :mod:`~trinity_beast.usage.recovery` to replay the spool, which also ends the outage. Or
the database refused the rows themselves (SQLSTATE class 22 data exception or 23 integrity
violation): the batch is split in halves until the refused rows are found; those go to the
spool's ``rejected/`` folder and the others are written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.engine import DatabaseUnavailable, begin, redacted
from trinity_beast.params.values import Parameters
from trinity_beast.usage.counters import UsageCounters
from trinity_beast.usage.insert import insert_batch
from trinity_beast.usage.record import UsageRecord
from trinity_beast.usage.spool import Spool

log = logging.getLogger(__name__)

DEFAULT_WRITE_TIMEOUT = 10.0
"""Seconds one batch may take (connecting included) before it counts as an outage."""
_REFUSED_ROWS = ("22", "23")
"""SQLSTATE classes that mean "these rows are wrong", not "try again later"."""


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def refuses_rows(exc: BaseException) -> bool:
    """True when the database refused the rows themselves (retrying cannot help)."""
    state = _sqlstate(exc)
    if state is not None:
        return state[:2] in _REFUSED_ROWS
    # SQLite's constraint errors carry no SQLSTATE; a value the driver cannot encode
    # (asyncpg's client-side DataError is a ValueError) is the rows' fault too.
    return isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError | ValueError | TypeError)


def distinct(records: Sequence[UsageRecord]) -> list[UsageRecord]:
    """``records`` without repeated ids (the first of each kept)."""
    first: dict[str, UsageRecord] = {}
    for record in records:
        first.setdefault(record.id, record)
    return list(first.values())


class UsageWriter:
    def __init__(self, engine: AsyncEngine, params: Parameters, spool: Spool,
                 counters: UsageCounters, write_timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        self.engine = engine
        self.params = params
        self.spool = spool
        self.counters = counters
        self.write_timeout = write_timeout
        self.outage = False
        """True from a failed write until the recovery loop gets a write (or probe) through."""
        self.spooled = asyncio.Event()
        """Set whenever records are spooled (wakes the recovery loop)."""

    async def persist(self, records: Sequence[UsageRecord]) -> int:
        """Write ``records`` in batches of ``usage_log_batch_size``, spooling from the first
        batch that fails; returns how many records neither went in nor into the spool (the
        spool was full). Those are not counted: the caller drops them or retries later."""
        size = self.params.get_int("usage_log_batch_size")
        for start in range(0, len(records), size):
            if not self.outage:
                try:
                    await self.write(records[start:start + size])
                    continue
                except DatabaseUnavailable as exc:
                    self._enter_outage(exc)
            left = records[start:]
            return 0 if await self.spool_records(left) else len(left)
        return 0

    async def write(self, records: Sequence[UsageRecord]) -> None:
        """Write one batch; raises :class:`DatabaseUnavailable` when it could not be written
        now. Rows the database refuses are isolated and rejected, the others written."""
        unique = distinct(records)
        try:
            async with asyncio.timeout(self.write_timeout):
                inserted = await insert_batch(self.engine, unique)
        except Exception as exc:
            if not refuses_rows(exc):
                raise self._unavailable(exc) from exc
            await self._isolate(unique, exc)
        else:
            written = sum(inserted.values())
            self.counters.written += written
            self.counters.duplicates += len(unique) - written
            self._leave_outage()
        self.counters.duplicates += len(records) - len(unique)

    async def probe(self) -> None:
        """End an outage if the database answers now (raises :class:`DatabaseUnavailable`)."""
        try:
            async with asyncio.timeout(self.write_timeout), begin(self.engine) as conn:
                await conn.execute(sa.select(1))
        except Exception as exc:
            raise self._unavailable(exc) from exc
        self._leave_outage()

    async def spool_records(self, records: Sequence[UsageRecord]) -> bool:
        """Append ``records`` to the spool (counted as spooled); False when it is full."""
        if not await self.spool.append(list(records)):
            return False
        self.counters.spooled += len(records)
        self.spooled.set()
        return True

    async def spool_or_drop(self, records: Sequence[UsageRecord]) -> None:
        """Spool ``records``; when the spool is full, count them as dropped."""
        if not await self.spool_records(records):
            self.drop(len(records))

    def drop(self, count: int) -> None:
        self.counters.dropped += count
        log.error("usage spool full (bound %d bytes): %d records dropped",
                  self.spool.max_bytes, count)

    async def _isolate(self, records: list[UsageRecord], exc: BaseException) -> None:
        if len(records) == 1:
            log.error("usage record %s refused by the database: %s", records[0].id, exc)
            if await self.spool.reject(records):
                self.counters.rejected += 1
            else:
                self.counters.dropped += 1
            return
        middle = len(records) // 2
        await self.write(records[:middle])
        await self.write(records[middle:])

    def _unavailable(self, exc: BaseException) -> DatabaseUnavailable:
        if isinstance(exc, DatabaseUnavailable):
            return exc
        reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return DatabaseUnavailable(f"usage write to {redacted(self.engine.url)} failed: {reason}")

    def _enter_outage(self, exc: DatabaseUnavailable) -> None:
        if not self.outage:
            log.warning("usage writes go to the spool until the database is back: %s", exc)
        self.outage = True

    def _leave_outage(self) -> None:
        if self.outage:
            log.warning("database is back: usage writes resume")
        self.outage = False


class DirectHandoff:
    """The embedded hand-off: the flusher's records go straight to the writer, in batches of
    ``usage_log_batch_size`` at least every ``usage_log_flush_ms``."""

    def __init__(self, writer: UsageWriter) -> None:
        self.writer = writer

    def batch_size(self) -> int:
        return self.writer.params.get_int("usage_log_batch_size")

    def flush_seconds(self) -> float:
        return self.writer.params.get_int("usage_log_flush_ms") / 1000

    async def deliver(self, records: list[UsageRecord]) -> None:
        try:
            refused = await self.writer.persist(records)
        except asyncio.CancelledError:
            # Shutdown cut the write short: keep the whole batch (a replay of rows that did
            # get in is de-duplicated).
            await self.writer.spool_or_drop(records)
            raise
        if refused:
            self.writer.drop(refused)
