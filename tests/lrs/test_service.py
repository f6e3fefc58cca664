"""The service around the reports: an unreachable database, the rollup worker, the generator."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lrs.conftest import START, FakeClock, NewKey
from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.db.engine import begin, create_engine
from trinity_beast.errors import Unavailable
from trinity_beast.keys.cache import KeyCache
from trinity_beast.lrs.datagen import insert_usage, synthetic_rows
from trinity_beast.lrs.filters import ReportQuery
from trinity_beast.lrs.rollup import rolled_through, run_rollups
from trinity_beast.lrs.service import LrsService, Result
from trinity_beast.params.values import Parameters


def keep(_query: ReportQuery, result: Result) -> tuple[Result, int]:
    return result, 0


async def test_an_unmigrated_database_answers_503(tmp_path: Path, new_key: NewKey,
                                                  key_cache: KeyCache) -> None:
    caller = await new_key("free")
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    service = LrsService(empty, Authenticator(key_cache), Parameters(),
                         Envelope("LRS", "r", "n"), clock=FakeClock())
    try:
        with pytest.raises(Unavailable, match="reports are unavailable right now"):
            await service.run(caller.record, "summary", {}, "http", keep)
    finally:
        await empty.dispose()


async def test_the_rollup_worker_rolls_complete_days(engine: AsyncEngine,
                                                     clock: FakeClock) -> None:
    yesterday = (START - timedelta(days=1)).date()
    task = asyncio.create_task(run_rollups(engine, Parameters(), clock, interval=3600))
    try:
        for _ in range(1000):  # each day is committed on its own: wait for the last one
            async with begin(engine) as conn:
                through = await rolled_through(conn)
            if through == yesterday:
                break
            await asyncio.sleep(0.01)
        assert through == yesterday
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_synthetic_rows_are_reproducible_and_look_like_traffic() -> None:
    end = datetime(2026, 6, 20, tzinfo=UTC)
    rows = list(synthetic_rows(["ak_a", "ak_b"], 10_000, end=end, days=10, seed=3))
    assert rows == list(synthetic_rows(["ak_a", "ak_b"], 10_000, end=end, days=10, seed=3))
    assert len({row[0] for row in rows}) == 10_000
    assert [row[11] for row in rows] == sorted(row[11] for row in rows)
    assert end - timedelta(days=10) <= rows[0][11] and rows[-1][11] < end
    statuses = Counter(row[7] for row in rows)
    assert 9500 < statuses[200] < 9800
    tiers = Counter(row[5] for row in rows if row[7] == 200)
    assert tiers["L1_MEMORY"] > 8 * tiers["L2_VALKEY"] > 8 * 3 * tiers["L3_REST"] / 4 > 0


async def test_insert_usage_reports_how_many_rows(engine: AsyncEngine) -> None:
    rows = synthetic_rows(["ak_a"], 2500, end=START, days=2, seed=1)
    assert await insert_usage(engine, rows, chunk=1000) == 2500
