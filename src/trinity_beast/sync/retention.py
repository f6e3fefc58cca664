"""The rolling retention (``retention_days``, 93): old log rows deleted in bounded batches.

The cutoff is the start of the LRS report window (:func:`trinity_beast.lrs.filters.
retention_window`: midnight UTC ``retention_days - 1`` days ago), so the job never deletes a row
a report can still show. Each batch is its own short transaction, so the usage writers and the
reports are never held up by one huge ``DELETE``.
"""

from __future__ import annotations

import time
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.engine import begin
from trinity_beast.db.schema import report_usage_logs, usage_logs
from trinity_beast.lrs.filters import retention_window
from trinity_beast.sync.report import PartReport

DELETE_BATCH = 10_000


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Rows created before this instant are past retention."""
    return retention_window(now, retention_days)[0]


async def delete_before(engine: AsyncEngine, table: sa.Table, cutoff: datetime, *,
                        batch: int = DELETE_BATCH) -> int:
    """Delete the rows of ``table`` created before ``cutoff``, ``batch`` at a time."""
    oldest = sa.select(table.c.id).where(table.c.created_at < cutoff).limit(batch)
    statement = table.delete().where(table.c.id.in_(oldest))
    total = 0
    while True:
        async with begin(engine) as conn:
            deleted = int((await conn.execute(statement)).rowcount)
        total += deleted
        if deleted < batch:
            return total


async def enforce_retention(engine: AsyncEngine, cutoff: datetime, *,
                            batch: int = DELETE_BATCH) -> PartReport:
    started = time.perf_counter()
    usage = await delete_before(engine, usage_logs, cutoff, batch=batch)
    reports = await delete_before(engine, report_usage_logs, cutoff, batch=batch)
    return PartReport(
        name="retention", mode="full", count=usage + reports,
        summary=(f"{usage} usage logs and {reports} report usage logs created before "
                 f"{cutoff:%Y-%m-%d} deleted"),
        seconds=time.perf_counter() - started)
