"""The nightly sync in the long-running service: ``sync_schedule_time`` in ``sync_schedule_tz``
(01:00 America/New_York by default, the seed's "1 AM EST"), plus 00:00 UTC on the 1st.

The extra wake at the start of each UTC month runs the monthly reset when the month begins,
not five or six hours later at 1 AM in New York: until it runs, ``current_usage`` still holds
last month's requests. Times come from :mod:`zoneinfo`, so daylight-saving changes are handled:
a time that does not exist that night (02:30 when clocks jump from 02:00 to 03:00) runs when it
would have been (03:30), and a time that happens twice (01:30 when clocks fall back) runs once,
at its first occurrence. Sleeps are at most :data:`MAX_SLEEP` long, so a changed schedule is
taken within minutes, and a sleep that overslept (a suspended machine) runs the job once.
"""

from __future__ import annotations

import asyncio
import logging
import time as clock_time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trinity_beast.db.stores import Stores
from trinity_beast.params.definitions import PARAMS
from trinity_beast.params.values import Parameters
from trinity_beast.sync.job import run_sync
from trinity_beast.sync.report import SyncReport

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
MAX_SLEEP = 300.0


class SyncJob(Protocol):
    def __call__(self, stores: Stores, *, full: bool = ...,
                 now: datetime | None = ...) -> Awaitable[SyncReport]: ...


def parse_schedule(at: str, zone: str) -> tuple[time, ZoneInfo]:
    """``("01:00", "America/New_York")`` → (time, zone); ValueError when unusable."""
    try:
        wall = time.fromisoformat(at.strip())
        return wall.replace(second=0, microsecond=0), ZoneInfo(zone.strip())
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise ValueError(f"sync schedule {at!r} in {zone!r} is unusable: {exc}") from exc


def schedule_of(params: Parameters) -> tuple[time, ZoneInfo]:
    """The configured schedule, or the defaults (with a warning) when it is unusable."""
    try:
        return parse_schedule(params.get_str("sync_schedule_time"),
                              params.get_str("sync_schedule_tz"))
    except ValueError as exc:
        log.warning("%s; using the default schedule", exc)
        return parse_schedule(PARAMS["sync_schedule_time"].default,
                              PARAMS["sync_schedule_tz"].default)


def next_nightly(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant strictly after ``after`` when the clock in ``zone`` shows ``at``."""
    day = after.astimezone(zone).date()
    for offset in range(3):
        candidate = datetime.combine(day + timedelta(days=offset), at, zone).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a wall-clock time recurs within three days")


def next_month_start(after: datetime) -> datetime:
    """Midnight UTC of the first 1st of a month strictly after ``after``."""
    moment = after.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def next_wake(after: datetime, params: Parameters) -> tuple[datetime, bool]:
    """When to run next after ``after``, and whether that run is the nightly one."""
    nightly = next_nightly(after, *schedule_of(params))
    monthly = next_month_start(after)
    return (nightly, True) if nightly <= monthly else (monthly, False)


async def run_nightly(stores: Stores, params: Parameters, *, clock: Clock = clock_time.time,
                      sleep: Sleep = asyncio.sleep, full: bool = True,
                      job: SyncJob = run_sync) -> None:
    """Run the sync job on schedule until cancelled. The nightly run is ``full`` (a rebuild of
    Valkey, as the seed's job does); the one at the start of a month is incremental. A failed
    run is logged and tried again at the next scheduled time."""
    after = _now(clock)
    while True:
        wake, nightly = next_wake(after, params)
        now = _now(clock)
        if now < wake:
            await sleep(min((wake - now).total_seconds(), MAX_SLEEP))
            continue
        after = now
        await _run_once(stores, job, full=full and nightly, now=now)


async def _run_once(stores: Stores, job: SyncJob, *, full: bool, now: datetime) -> None:
    try:
        report = await job(stores, full=full, now=now)
    except Exception:
        log.exception("scheduled sync failed; it runs again at the next scheduled time")
        return
    log.info("scheduled sync done", extra={"full": full, "seconds": round(report.seconds, 3),
                                            "parts": report.lines()})


def _now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)
