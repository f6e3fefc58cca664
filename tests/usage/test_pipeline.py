"""The embedded pipeline (no Valkey) on both databases: records submitted by request handlers
land in usage_logs with current_usage advanced; drain loses nothing; a restart replays the
spool; a full buffer drops and counts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.usage.helpers import (
    per_key,
    records,
    small_batches,
    stored_ids,
    usage_by_key,
    wait_until,
)
from trinity_beast.db.engine import create_engine
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.migrate import upgrade
from trinity_beast.db.schema import api_keys
from trinity_beast.params.values import Parameters
from trinity_beast.settings import Settings
from trinity_beast.usage.pipeline import UsagePipeline, build_usage_pipeline
from trinity_beast.usage.writer import DirectHandoff


def _pipeline(engine: AsyncEngine, var_dir: Path, params: Parameters | None = None
              ) -> UsagePipeline:
    settings = Settings(database_url=str(engine.url), var_dir=var_dir)
    return build_usage_pipeline(settings, params or small_batches(), engine, None, "node-a")


async def test_submitted_records_land_once_with_usage_counted(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    pipeline = _pipeline(engine, tmp_path)
    assert isinstance(pipeline.handoff, DirectHandoff)
    batch = records(key_ids, 137)
    await pipeline.start()
    try:
        for record in batch:
            pipeline.sink.submit(record)
        await wait_until(lambda: pipeline.written == 137, "all records written")
    finally:
        await pipeline.stop()
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch)
    assert await usage_by_key(engine) == per_key(batch)
    assert (pipeline.submitted, pipeline.written, pipeline.duplicates, pipeline.spooled,
            pipeline.dropped) == (137, 137, 0, 0, 0)


async def test_drain_hands_off_what_is_buffered(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    pipeline = _pipeline(engine, tmp_path, small_batches(usage_log_flush_ms="60000"))
    batch = records(key_ids, 15)  # less than a batch: only drain sends it
    await pipeline.start()
    for record in batch:
        pipeline.sink.submit(record)
    assert await pipeline.drain(30.0)
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch)
    assert pipeline.written == 15
    await pipeline.stop()


async def test_drain_without_start_still_delivers(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    pipeline = _pipeline(engine, tmp_path)
    batch = records(key_ids, 45)
    for record in batch:
        pipeline.sink.submit(record)
    assert await pipeline.drain(30.0)
    assert await usage_by_key(engine) == per_key(batch)


async def test_a_drain_cut_short_spools_the_rest(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    pipeline = _pipeline(engine, tmp_path)
    batch = records(key_ids, 300)
    await pipeline.start()
    for record in batch:
        pipeline.sink.submit(record)
    await pipeline.drain(0.0)
    await pipeline.stop()
    assert pipeline.written + pipeline.spooled >= 300
    await pipeline.recover()  # what was cut short is on disk, replayed now
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch)
    assert await usage_by_key(engine) == per_key(batch)
    # A batch whose wait was cut short may still commit (SQLite writes in a thread of its
    # own); its records then come back from the spool as duplicates: none lost, none twice.
    assert (pipeline.written + pipeline.duplicates, pipeline.dropped) == (300, 0)
    assert pipeline.spool.pending() == []


async def test_a_full_buffer_drops_and_counts(
        engine: AsyncEngine, key_ids: list[str], tmp_path: Path) -> None:
    pipeline = _pipeline(engine, tmp_path, small_batches(sqs_buffer_size="100"))
    batch = records(key_ids, 130)
    for record in batch:  # not started: nothing drains the buffer meanwhile
        pipeline.sink.submit(record)
    await pipeline.drain(30.0)
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch[:100])
    assert (pipeline.submitted, pipeline.dropped, pipeline.written) == (130, 30, 100)


async def test_a_restart_replays_what_the_last_run_spooled(
        database_url: str, tmp_path: Path) -> None:
    """Run 1 meets a database that is not ready (not migrated) and spools everything; run 2,
    on the same var_dir and a ready database, replays it at start."""
    engine = create_engine(database_url)
    try:
        first = _pipeline(engine, tmp_path)
        batch = records(["ak_pending"], 60)
        await first.start()
        for record in batch:
            first.sink.submit(record)
        assert await first.drain(30.0)
        await first.stop()
        assert (first.spooled, first.written) == (60, 0)

        await upgrade(engine)
        await SqlKeyStore(engine).create("free")
        async with engine.begin() as conn:  # the key the spooled records were made for
            await conn.execute(api_keys.update().values(key_id="ak_pending"))
        second = _pipeline(engine, tmp_path)
        await second.start()
        try:
            # replayed counts a frame once written; the segment is deleted just after
            await wait_until(lambda: second.replayed == 60 and not second.spool.pending(),
                             "the spool replayed and emptied")
        finally:
            await second.stop()
        assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch)
        assert (second.written, second.submitted) == (60, 0)
        assert await usage_by_key(engine) == {"ak_pending": 60}
        assert second.spool.pending() == []
    finally:
        await engine.dispose()
