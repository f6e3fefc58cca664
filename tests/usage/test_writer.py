"""The writer on both databases: rows once per record id, current_usage advanced by the rows
actually inserted, refused rows isolated, and the spool while the database is down."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.redis_process import free_port
from tests.usage.helpers import (
    per_key,
    records,
    small_batches,
    stored_ids,
    stored_rows,
    updated_at,
    usage_by_key,
)
from trinity_beast.db.engine import DatabaseUnavailable, create_engine
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.migrate import upgrade
from trinity_beast.usage.counters import UsageCounters
from trinity_beast.usage.insert import insert_batch
from trinity_beast.usage.recovery import SpoolRecovery
from trinity_beast.usage.spool import Spool
from trinity_beast.usage.writer import UsageWriter, distinct


def _writer(engine: AsyncEngine, tmp_path: Path) -> UsageWriter:
    return UsageWriter(engine, small_batches(), Spool(tmp_path / "spool"), UsageCounters())


async def test_rows_land_with_every_field_and_a_utc_created_at(
        engine: AsyncEngine, key_ids: list[str]) -> None:
    [record] = records(key_ids, 1)
    assert await insert_batch(engine, [record]) == {key_ids[0]: 1}
    rows = await stored_rows(engine)
    assert rows == {record.id: (
        record.id, key_ids[0], "BTC", 1, "okx", "L1_MEMORY", 40, 200, "/price", "http",
        "node-a", datetime(2026, 6, 21, 0, 0, 0, 250000, tzinfo=UTC))}


async def test_current_usage_counts_only_rows_inserted(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    writer = _writer(engine, tmp_path)
    batch, more = records(key_ids, 50), records(key_ids, 5)
    assert await writer.persist(batch) == 0
    assert await writer.persist(batch[:30] + more) == 0  # a re-delivery plus new records
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch + more)
    assert await usage_by_key(engine) == per_key(batch + more)
    counters = writer.counters
    assert (counters.written, counters.duplicates, counters.spooled) == (55, 30, 0)


async def test_a_batch_of_several_statements_counts_each_inserted_row_once(
        engine: AsyncEngine, key_ids: list[str]) -> None:
    # More rows than one SQLite statement takes, re-deliveries scattered through them.
    first, more = records(key_ids, 450), records(key_ids, 170)
    assert await insert_batch(engine, first[:250]) == per_key(first[:250])
    mixed = [record for pair in zip(first, more + first[400:], strict=False) for record in pair]
    expected = per_key(first[250:] + more)
    assert await insert_batch(engine, mixed + first[220:400]) == expected
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in first + more)
    assert await usage_by_key(engine) == per_key(first + more)


async def test_repeated_ids_within_one_batch_count_once(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    writer = _writer(engine, tmp_path)
    batch = records(key_ids[:1], 4)
    await writer.write(batch + batch[:2])
    assert len(await stored_ids(engine)) == 4
    assert (await usage_by_key(engine))[key_ids[0]] == 4
    assert (writer.counters.written, writer.counters.duplicates) == (4, 2)


async def test_advancing_usage_sets_updated_at(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    before = await updated_at(engine, key_ids[0])
    await _writer(engine, tmp_path).write(records(key_ids[:1], 1))
    assert await updated_at(engine, key_ids[0]) > before


async def test_a_refused_row_is_isolated_and_kept_the_others_written(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    batch = records(key_ids, 9)
    bad = msgspec.structs.replace(batch[4], api_key_id=None)  # NOT NULL column
    writer = _writer(engine, tmp_path)
    await writer.write([*batch[:4], bad, *batch[5:]])
    good = batch[:4] + batch[5:]
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in good)
    assert await usage_by_key(engine) == per_key(good)
    assert (writer.counters.written, writer.counters.rejected) == (8, 1)
    assert not writer.outage
    [kept] = (tmp_path / "spool" / "rejected").iterdir()
    assert bad.id.encode() in kept.read_bytes()


def test_distinct_keeps_the_first_of_each_id() -> None:
    batch = records(["ak_a"], 3)
    assert distinct([batch[1], batch[0], batch[1], batch[2], batch[0]]) == [
        batch[1], batch[0], batch[2]]


async def test_an_unreachable_database_spools_and_replays_once_back(
        database_url: str, tmp_path: Path) -> None:
    """Not migrated yet behaves like down: batches spool; after the migration they replay."""
    engine = create_engine(database_url)
    writer = _writer(engine, tmp_path)
    recovery = SpoolRecovery(writer.spool, writer, writer.counters)
    batch = records(["ak_later"], 45)
    try:
        assert await writer.persist(batch) == 0
        assert (writer.outage, writer.counters.spooled, writer.counters.written) == (True, 45, 0)
        with pytest.raises(DatabaseUnavailable, match="not migrated"):
            await recovery.recover_once()
        await upgrade(engine)
        await SqlKeyStore(engine).create("free")
        assert await recovery.recover_once() == 45
        assert writer.outage is False
        assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch)
        assert writer.spool.pending() == []
        assert (writer.counters.replayed, writer.counters.written) == (45, 45)
    finally:
        await engine.dispose()


async def test_nothing_listening_is_an_outage_that_a_probe_confirms(tmp_path: Path) -> None:
    port = free_port()
    engine = create_engine(f"postgresql://postgres@127.0.0.1:{port}/test")
    writer = _writer(engine, tmp_path)
    try:
        assert await writer.persist(records(["ak_a"], 25)) == 0
        assert writer.outage
        assert writer.counters.spooled == 25
        expected = f"database postgresql+asyncpg://postgres@127.0.0.1:{port}/test is unavailable"
        with pytest.raises(DatabaseUnavailable, match=re.escape(expected)):
            await writer.probe()
    finally:
        await engine.dispose()


async def test_a_full_spool_during_an_outage_reports_what_it_refused(tmp_path: Path) -> None:
    engine = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    writer = UsageWriter(engine, small_batches(), Spool(tmp_path / "spool", max_bytes=100),
                         UsageCounters())
    try:
        assert await writer.persist(records(["ak_a"], 25)) == 25
        assert (writer.counters.spooled, writer.counters.dropped) == (0, 0)
    finally:
        await engine.dispose()
