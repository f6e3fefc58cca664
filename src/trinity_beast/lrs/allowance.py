"""The monthly report allowance, counted in the database so every node sees one count.

``report_count`` holds one row per key and UTC month (``YYYY-MM``). A report is counted by one
atomic statement — ``INSERT … ON CONFLICT DO UPDATE SET count = count + 1 WHERE count < limit
RETURNING count`` — so two nodes can never both hand out the last report, and a refused call
does not raise the count. Keys with unlimited reports (the ``unlimited``, ``lifetime`` and
``partner`` tiers, or any key with ``lrs_enabled``, the add-on) are counted too, for the
history, but never refused. The month in the key makes the count start again at zero on the 1st
without any job; :func:`reset_month` (the sync job) moves finished months into
``monthly_report_counts``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

from trinity_beast.db.engine import begin
from trinity_beast.db.schema import monthly_report_counts, report_count
from trinity_beast.errors import TooManyRequests
from trinity_beast.keys.model import TIER_LIMITS, KeyRecord

ADD_ON = "the Unlimited LRS Add-On ($20/month)"
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def next_month(moment: datetime) -> datetime:
    """Midnight UTC of the first day of the month after ``moment``'s."""
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def is_unlimited(key: KeyRecord) -> bool:
    """Whether the key's reports are unlimited: by its tier, or by the add-on."""
    tier = TIER_LIMITS.get(key.tier)
    return key.lrs_enabled or (tier is not None and tier.reports_unlimited)


def limit_of(key: KeyRecord, monthly_limit: int) -> int | None:
    """The key's reports per month (``lrs_monthly_report_limit``), or None when unlimited."""
    return None if is_unlimited(key) else monthly_limit


async def consume(engine: AsyncEngine, key: KeyRecord, now: datetime,
                  monthly_limit: int) -> int:
    """Count one report of ``key`` in ``now``'s month and return the month's count.

    Raises :class:`TooManyRequests` (``report_limit``) when the allowance is used up; the
    count is not raised then.
    """
    limit = limit_of(key, monthly_limit)
    month = month_of(now)
    if limit is not None and limit <= 0:
        raise exhausted(limit, now)
    async with begin(engine) as conn:
        counted = await conn.execute(_increment(conn.dialect.name, key.key_id, month, now, limit))
        count = counted.scalar_one_or_none()
    if count is None:
        raise exhausted(limit or 0, now)
    return int(count)


def _increment(dialect: str, key_id: str, month: str, now: datetime,
               limit: int | None) -> Insert:
    insert = (postgresql.insert(report_count) if dialect == "postgresql"
              else sqlite.insert(report_count))
    row = insert.values(api_key_id=key_id, month=month, count=1, updated_at=now)
    return row.on_conflict_do_update(
        index_elements=[report_count.c.api_key_id, report_count.c.month],
        set_={"count": report_count.c.count + 1, "updated_at": now},
        where=None if limit is None else report_count.c.count < limit,
    ).returning(report_count.c.count)


def exhausted(limit: int, now: datetime) -> TooManyRequests:
    renews = next_month(now)
    return TooManyRequests(
        f"you have used all {limit} reports of {month_of(now)}; the allowance renews on "
        f"{renews:%Y-%m-%d} (UTC). For unlimited reports add {ADD_ON}.",
        code="report_limit", retry_after=(renews - now).total_seconds(),
    )


async def count_of(conn: AsyncConnection, key_id: str, month: str) -> int:
    """Reports counted for ``key_id`` in ``month`` so far."""
    query = sa.select(report_count.c.count).where(
        report_count.c.api_key_id == key_id, report_count.c.month == month)
    return int((await conn.execute(query)).scalar_one_or_none() or 0)


async def reset_month(engine: AsyncEngine, month: str) -> int:
    """Start ``month`` (``YYYY-MM``): move the counts of every earlier month from
    ``report_count`` to ``monthly_report_counts`` (added to what an earlier run archived).

    Idempotent and safe while reports are counted: rows are deleted and archived in one
    transaction (``DELETE … RETURNING``). Returns how many counts were archived.
    """
    if not _MONTH.fullmatch(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    async with begin(engine) as conn:
        deleted = await conn.execute(
            report_count.delete().where(report_count.c.month < month).returning(
                report_count.c.api_key_id, report_count.c.month, report_count.c.count))
        rows = [{"api_key_id": k, "month": m, "count": c} for k, m, c in deleted]
        if rows:
            await conn.execute(_archive(conn.dialect.name), rows)
    return len(rows)


def _archive(dialect: str) -> Insert:
    insert = (postgresql.insert(monthly_report_counts) if dialect == "postgresql"
              else sqlite.insert(monthly_report_counts))
    return insert.on_conflict_do_update(
        index_elements=[monthly_report_counts.c.api_key_id, monthly_report_counts.c.month],
        set_={"count": monthly_report_counts.c.count + insert.excluded.count,
              "archived_at": sa.func.current_timestamp()},
    )
