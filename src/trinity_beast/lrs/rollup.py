"""The daily usage rollup (``usage_daily``) that makes ``/reports/summary`` fast.

For each complete UTC day the rows of ``usage_logs`` are grouped per key, asset, source, cache
tier and status, with a latency histogram (:mod:`trinity_beast.lrs.latency`). A summary reads
the rollup for the whole days it covers up to ``rolled_through`` and ``usage_logs`` itself for
the rest (the current day, partial days at its edges, and days not rolled yet).

Re-rolling a day recomputes it from ``usage_logs`` (delete + insert in one transaction), so it
is idempotent; on PostgreSQL an advisory lock makes concurrent rollups of several nodes run one
after the other. Rows that reach ``usage_logs`` after their day was rolled (a queue that was
down for hours) are counted once the day is rolled again: the sync job passes ``since``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trinity_beast.db.engine import DatabaseUnavailable, begin, upsert
from trinity_beast.db.schema import usage_daily, usage_logs, usage_rollup_state, utcnow
from trinity_beast.lrs.aggregate import histogram_groups
from trinity_beast.lrs.filters import retention_window
from trinity_beast.params.values import Parameters

log = logging.getLogger(__name__)

ROLLUP_NAME = "usage_daily"
SETTLE = timedelta(minutes=10)
"""A day is rolled once it has been over for this long (usage records arrive via a queue)."""
ROLLUP_INTERVAL_SECONDS = 600.0
_ROLLUP_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(hashtext('trinity_beast.usage_daily.' || current_schema()))")
"""One lock per schema, so deployments sharing a database do not wait for each other."""


def usage_dims() -> dict[str, sa.ColumnElement[object]]:
    """The grouping attributes of ``usage_daily`` besides the day ('' for NULL)."""
    t = usage_logs.c
    return {
        "asset": sa.func.coalesce(t.asset, ""), "source": sa.func.coalesce(t.source, ""),
        "cache_tier": sa.func.coalesce(t.cache_tier, ""), "status": t.status,
    }


@dataclass(frozen=True, slots=True)
class RollupResult:
    days: list[date] = field(default_factory=list)
    rolled_through: date | None = None


async def rolled_through(conn: AsyncConnection) -> date | None:
    """The last day of the contiguous rolled-up range, or None before the first rollup."""
    query = sa.select(usage_rollup_state.c.rolled_through).where(
        usage_rollup_state.c.name == ROLLUP_NAME)
    return (await conn.execute(query)).scalar_one_or_none()


async def rollup_usage(engine: AsyncEngine, since: date | None = None, *,
                       now: datetime | None = None, retention_days: int = 93) -> RollupResult:
    """Roll up every complete day not rolled yet, and again every day from ``since`` on.

    Days before the retention window are deleted from ``usage_daily`` and never rolled. The
    first rollup starts at the beginning of the window, so the rolled range has no gaps.
    """
    now = now or utcnow()
    first_day = retention_window(now, retention_days)[0].date()
    last_day = (now - SETTLE).astimezone(UTC).date() - timedelta(days=1)
    async with begin(engine) as conn:
        await conn.execute(usage_daily.delete().where(usage_daily.c.day < first_day))
        through = await rolled_through(conn)
    start = first_day if through is None else through + timedelta(days=1)
    if since is not None:
        start = min(start, since)
    start = max(start, first_day)
    rolled: list[date] = []
    day = start
    while day <= last_day:
        await _rollup_day(engine, day)
        rolled.append(day)
        day += timedelta(days=1)
    return RollupResult(rolled, max(filter(None, [through, *rolled]), default=None))


async def _rollup_day(engine: AsyncEngine, day: date) -> None:
    dialect = engine.dialect.name
    begins = datetime.combine(day, datetime.min.time(), UTC)
    where = [usage_logs.c.created_at >= begins,
             usage_logs.c.created_at < begins + timedelta(days=1)]
    grouped = histogram_groups(usage_logs, dialect,
                               {"api_key_id": usage_logs.c.api_key_id, **usage_dims()}, where)
    columns = [column.name for column in grouped.selected_columns]
    async with begin(engine) as conn:
        if dialect == "postgresql":
            await conn.execute(_ROLLUP_LOCK)
        await conn.execute(usage_daily.delete().where(usage_daily.c.day == day))
        await conn.execute(usage_daily.insert().from_select(columns, grouped))
        through = await rolled_through(conn)
        if through is None or day > through:
            mark = upsert(dialect, usage_rollup_state, ["name"], ["rolled_through", "updated_at"])
            await conn.execute(mark.values(name=ROLLUP_NAME, rolled_through=day,
                                           updated_at=utcnow()))


async def run_rollups(engine: AsyncEngine, params: Parameters,
                      clock: Callable[[], float] = time.time,
                      interval: float = ROLLUP_INTERVAL_SECONDS) -> None:
    """Roll up each day soon after it ends; runs until cancelled (one task per node is fine:
    nodes take turns through the advisory lock and a rolled day is not rolled again)."""
    while True:
        try:
            now = datetime.fromtimestamp(clock(), UTC)
            await rollup_usage(engine, now=now, retention_days=params.get_int("retention_days"))
        except DatabaseUnavailable as exc:
            log.warning("usage rollup skipped: %s", exc)
        await asyncio.sleep(interval)
