"""The monthly reset: report counts archived, ``current_usage`` restarted with the month.

Months are UTC calendar months, as everywhere else (``report_count.month``, the quota of
``limits/quota.py``). On the first run in a new month:

* ``report_count`` rows of earlier months move to ``monthly_report_counts``
  (:func:`trinity_beast.lrs.allowance.reset_month`, idempotent, so it runs every time);
* every key's ``current_usage`` becomes the number of its ``usage_logs`` rows created since the
  month began — 0 for a key not used yet this month — with ``updated_at`` bumped so every node's
  key cache takes the new value. Counting this month's rows instead of writing 0 keeps the
  requests made between midnight and the run; it is exact because, on PostgreSQL, the usage
  writers wait (``LOCK … IN SHARE MODE``) for the few milliseconds the recount takes.

"Done for this month" is the row ``monthly_reset`` of ``usage_rollup_state`` (its
``rolled_through`` is the first day of the last month reset). The row is claimed by a conditional
write before anything else, so two runs at once (cron and the service) reset once. A database
that never saw a reset (a new installation) is reset only on the 1st; any other day the first
run only records the month, so usage counted before the installation's first sync is kept.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trinity_beast.db.engine import begin, insert_ignoring_conflicts
from trinity_beast.db.schema import api_keys, usage_logs, usage_rollup_state, utcnow
from trinity_beast.lrs.allowance import month_of, reset_month
from trinity_beast.sync.report import PartReport

STATE_NAME = "monthly_reset"


def month_start(now: datetime) -> datetime:
    moment = now.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


async def monthly_reset(engine: AsyncEngine, now: datetime) -> PartReport:
    started = time.perf_counter()
    month = month_of(now)
    archived = await reset_month(engine, month)
    async with begin(engine) as conn:
        claim = await _claim(conn, month_start(now).date(), first_day=now.astimezone(UTC).day == 1)
        recounted = await _recount_usage(conn, month_start(now)) if claim == "reset" else 0
    if claim == "reset":
        summary = (f"{month} started: {archived} report counts archived, "
                   f"current_usage recounted for {recounted} keys")
    elif claim == "recorded":
        summary = f"{month} recorded as the first month (no reset before the 1st)"
    else:
        summary = f"{month} already done" + (f", {archived} late report counts archived"
                                             if archived else "")
    return PartReport(name="monthly reset", mode="full" if claim == "reset" else "skipped",
                      count=recounted, summary=summary, seconds=time.perf_counter() - started)


async def _claim(conn: AsyncConnection, first: date, *, first_day: bool) -> str:
    """Mark ``first``'s month as reset; ``reset`` when this run must do it, ``recorded`` for a
    new installation past the 1st, ``done`` when an earlier run did it."""
    state = usage_rollup_state.c
    moved = await conn.execute(
        usage_rollup_state.update()
        .where(state.name == STATE_NAME, state.rolled_through < first)
        .values(rolled_through=first, updated_at=utcnow()))
    if moved.rowcount:
        return "reset"
    created = await conn.execute(
        insert_ignoring_conflicts(conn.dialect.name, usage_rollup_state, ["name"])
        .values(name=STATE_NAME, rolled_through=first, updated_at=utcnow()))
    if not created.rowcount:
        return "done"
    return "reset" if first_day else "recorded"


async def _recount_usage(conn: AsyncConnection, since: datetime) -> int:
    """Set ``current_usage`` to the rows since ``since``; returns how many keys changed."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("LOCK TABLE usage_logs IN SHARE MODE")
    this_month = (
        sa.select(sa.func.count()).select_from(usage_logs)
        .where(usage_logs.c.api_key_id == api_keys.c.key_id, usage_logs.c.created_at >= since)
        .scalar_subquery())
    result = await conn.execute(
        api_keys.update().where(api_keys.c.current_usage != this_month)
        .values(current_usage=this_month, updated_at=utcnow()))
    return int(result.rowcount)
