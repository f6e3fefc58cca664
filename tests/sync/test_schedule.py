"""The nightly schedule: next run times across daylight-saving changes, the monthly wake, and
the run loop driven by a fake clock (the job is the real one, on SQLite)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from tests.sync.conftest import at
from trinity_beast.db.stores import Stores
from trinity_beast.params.values import Parameters
from trinity_beast.sync.job import run_sync
from trinity_beast.sync.report import SyncReport
from trinity_beast.sync.schedule import (
    MAX_SLEEP,
    next_month_start,
    next_nightly,
    next_wake,
    parse_schedule,
    run_nightly,
    schedule_of,
)

NEW_YORK = ZoneInfo("America/New_York")


def nights(after: datetime, at_time: time, count: int) -> list[datetime]:
    runs = []
    for _ in range(count):
        after = next_nightly(after, at_time, NEW_YORK)
        runs.append(after)
    return runs


def test_one_am_new_york_across_spring_forward() -> None:
    # 2026-03-08: clocks jump from 02:00 EST to 03:00 EDT; 01:00 that night is still EST.
    assert nights(at("2026-03-06T12:00:00"), time(1, 0), 4) == [
        at("2026-03-07T06:00:00"), at("2026-03-08T06:00:00"),
        at("2026-03-09T05:00:00"), at("2026-03-10T05:00:00")]


def test_one_am_new_york_across_fall_back_runs_once() -> None:
    # 2026-11-01: 01:00-02:00 happens twice (EDT, then EST); the first one runs.
    assert nights(at("2026-10-30T12:00:00"), time(1, 0), 3) == [
        at("2026-10-31T05:00:00"), at("2026-11-01T05:00:00"), at("2026-11-02T06:00:00")]


def test_a_skipped_time_runs_when_it_would_have_been() -> None:
    # 02:30 does not exist on 2026-03-08: it runs at 03:30 EDT (07:30 UTC).
    assert nights(at("2026-03-07T12:00:00"), time(2, 30), 2) == [
        at("2026-03-08T07:30:00"), at("2026-03-09T06:30:00")]


def test_the_next_run_is_strictly_after() -> None:
    assert next_nightly(at("2026-06-15T05:00:00"), time(1, 0), NEW_YORK) == at(
        "2026-06-16T05:00:00")
    assert next_nightly(at("2026-06-15T04:59:59"), time(1, 0), NEW_YORK) == at(
        "2026-06-15T05:00:00")


def test_month_start_wakes_before_the_nightly_run() -> None:
    params = Parameters()
    assert next_month_start(at("2026-12-31T23:00:00")) == at("2027-01-01T00:00:00")
    assert next_month_start(at("2026-07-01T00:00:00")) == at("2026-08-01T00:00:00")
    assert next_wake(at("2026-06-30T12:00:00"), params) == (at("2026-07-01T00:00:00"), False)
    assert next_wake(at("2026-07-01T00:00:00"), params) == (at("2026-07-01T05:00:00"), True)


def test_schedule_parameters() -> None:
    assert parse_schedule(" 23:45 ", "Europe/Paris") == (time(23, 45), ZoneInfo("Europe/Paris"))
    with pytest.raises(ValueError, match="unusable"):
        parse_schedule("25:00", "UTC")
    with pytest.raises(ValueError, match="unusable"):
        parse_schedule("01:00", "Mars/Olympus_Mons")
    params = Parameters({"sync_schedule_time": "03:15", "sync_schedule_tz": "Asia/Karachi"})
    assert schedule_of(params) == (time(3, 15), ZoneInfo("Asia/Karachi"))


def test_an_unusable_schedule_falls_back_to_the_default(caplog: pytest.LogCaptureFixture) -> None:
    params = Parameters({"sync_schedule_tz": "Nowhere/City"})
    assert schedule_of(params) == (time(1, 0), NEW_YORK)
    assert "using the default schedule" in caplog.text


class FakeTime:
    """A clock that a sleep moves forward; every requested sleep is recorded."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class RecordingJob:
    """The real sync job, with each call's arguments kept; the first ``failures`` calls fail."""

    def __init__(self, wanted: int, failures: int = 0) -> None:
        self.calls: list[tuple[bool, datetime]] = []
        self.failures = failures
        self.wanted = wanted
        self.done = asyncio.Event()

    async def __call__(self, stores: Stores, *, full: bool = False,
                       now: datetime | None = None) -> SyncReport:
        assert now is not None
        self.calls.append((full, now))
        if len(self.calls) <= self.failures:
            raise RuntimeError("database gone")
        report = await run_sync(stores, full=full, now=now)
        if len(self.calls) >= self.wanted:
            asyncio.get_running_loop().call_soon(self.done.set)  # once the loop has logged
        return report


async def drive(stores: Stores, fake: FakeTime, job: RecordingJob) -> None:
    task = asyncio.ensure_future(run_nightly(stores, stores.params, clock=fake.clock,
                                             sleep=fake.sleep, job=job))
    try:
        await asyncio.wait_for(job.done.wait(), 60)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_the_loop_runs_at_month_start_and_nightly(stores: Stores) -> None:
    fake = FakeTime(at("2026-06-30T22:00:00"))
    job = RecordingJob(wanted=3)
    await drive(stores, fake, job)
    assert job.calls == [(False, at("2026-07-01T00:00:00")), (True, at("2026-07-01T05:00:00")),
                         (True, at("2026-07-02T05:00:00"))]
    assert max(fake.sleeps) == MAX_SLEEP


async def test_a_failed_run_is_logged_and_the_next_one_happens(
        stores: Stores, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTime(at("2026-06-10T12:00:00"))
    job = RecordingJob(wanted=2, failures=1)
    with caplog.at_level(logging.INFO, logger="trinity_beast.sync.schedule"):
        await drive(stores, fake, job)
    assert [moment for _, moment in job.calls] == [at("2026-06-11T05:00:00"),
                                                   at("2026-06-12T05:00:00")]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == "scheduled sync failed; it runs again at the next scheduled time"
    assert messages[1] == "scheduled sync done"
