"""The Valkey-stream path against the real Redis (unique key prefix) and both databases: a
writer group shares the work, a writer that dies mid-batch loses nothing and double-counts
nothing, and Valkey going away or being flushed loses nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.redis_process import RedisProcess
from tests.usage.helpers import (
    per_key,
    records,
    small_batches,
    stored_ids,
    usage_by_key,
    wait_until,
)
from trinity_beast.cache.valkey import redis_client
from trinity_beast.db.schema import api_keys
from trinity_beast.params.values import Parameters
from trinity_beast.settings import Settings
from trinity_beast.usage.consumer import FORGET_AFTER_CLAIMS, StreamConsumer
from trinity_beast.usage.counters import UsageCounters
from trinity_beast.usage.pipeline import UsagePipeline, UsageTuning, build_usage_pipeline
from trinity_beast.usage.record import UsageRecord
from trinity_beast.usage.spool import Spool
from trinity_beast.usage.stream import GROUP, STREAM_NAME, StreamProducer, decode_entry
from trinity_beast.usage.writer import UsageWriter

CLAIM_IDLE_MS = 50


def _pipeline(engine: AsyncEngine, redis: Redis, prefix: str, var_dir: Path, node: str,
              claim_idle_ms: int = CLAIM_IDLE_MS) -> UsagePipeline:
    settings = Settings(database_url=str(engine.url), redis_prefix=prefix, var_dir=var_dir)
    return build_usage_pipeline(settings, small_batches(), engine, redis, node,
                                UsageTuning(claim_idle_ms=claim_idle_ms, retry_max_seconds=1.0))


def _consumer(engine: AsyncEngine, redis: Redis, prefix: str, var_dir: Path,
              name: str) -> StreamConsumer:
    params = small_batches()
    writer = UsageWriter(engine, params, Spool(var_dir / name), UsageCounters())
    return StreamConsumer(redis, f"{prefix}{STREAM_NAME}", name, writer, params,
                          writer.counters, claim_idle_ms=CLAIM_IDLE_MS)


async def _produce(redis: Redis, prefix: str, batch: list[UsageRecord], var_dir: Path,
                   engine: AsyncEngine) -> None:
    writer = UsageWriter(engine, small_batches(), Spool(var_dir / "producer"), UsageCounters())
    await StreamProducer(redis, f"{prefix}{STREAM_NAME}", small_batches(), writer).deliver(batch)
    assert writer.counters.spooled == 0


async def _pending(redis: Redis, prefix: str) -> int:
    return int((await redis.xpending(f"{prefix}{STREAM_NAME}", GROUP))["pending"])


async def _drain_with(consumer: StreamConsumer) -> None:
    while await consumer.step():
        pass


async def test_two_writers_share_the_group_and_write_each_record_once(
        engine: AsyncEngine, key_ids: list[str], redis: Redis, redis_prefix: str,
        tmp_path: Path) -> None:
    a = _consumer(engine, redis, redis_prefix, tmp_path, "node-a-1")
    b = _consumer(engine, redis, redis_prefix, tmp_path, "node-b-1")
    await a.ensure_group()
    batch = records(key_ids, 100)  # 20 entries of 5; a read takes 4 entries (20 records)
    await _produce(redis, redis_prefix, batch, tmp_path, engine)
    handled = [await a.step(), await b.step(), await a.step(), await b.step(), await a.step()]
    assert handled == [4, 4, 4, 4, 4]
    assert (a.counters.written, b.counters.written) == (60, 40)
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch)
    assert await usage_by_key(engine) == per_key(batch)
    assert await _pending(redis, redis_prefix) == 0
    assert await redis.xlen(f"{redis_prefix}{STREAM_NAME}") == 0  # acknowledged = deleted


async def test_two_running_nodes_write_everything_exactly_once(
        engine: AsyncEngine, key_ids: list[str], redis: Redis, redis_prefix: str,
        tmp_path: Path) -> None:
    # Nobody dies here: a claim period far longer than a write keeps the nodes from taking
    # over each other's batches in progress (which would be safe, but counted as duplicates).
    nodes = [_pipeline(engine, redis, redis_prefix, tmp_path / name, name, claim_idle_ms=60_000)
             for name in ("node-a", "node-b")]
    batch = records(key_ids, 400)
    for node in nodes:
        await node.start()
    try:
        for i, record in enumerate(batch):
            nodes[i % 2].sink.submit(record)
        await wait_until(lambda: sum(n.written for n in nodes) == 400, "400 records written")
    finally:
        for node in nodes:
            await node.stop()
    ids = await stored_ids(engine)
    assert sorted(ids) == sorted(r.id for r in batch)
    assert await usage_by_key(engine) == per_key(batch)
    assert sum(n.duplicates for n in nodes) == 0
    assert sum(n.spooled for n in nodes) == 0
    assert await _pending(redis, redis_prefix) == 0


async def test_a_writer_dead_after_reading_loses_nothing(
        engine: AsyncEngine, key_ids: list[str], redis: Redis, redis_prefix: str,
        tmp_path: Path) -> None:
    dead = _consumer(engine, redis, redis_prefix, tmp_path, "node-a-1")
    survivor = _consumer(engine, redis, redis_prefix, tmp_path, "node-b-1")
    await dead.ensure_group()
    batch = records(key_ids, 60)
    await _produce(redis, redis_prefix, batch, tmp_path, engine)
    assert len(await dead.read()) == 4  # XREADGROUP, then the process is gone: no XACK
    assert await _pending(redis, redis_prefix) == 4
    await asyncio.sleep(2 * CLAIM_IDLE_MS / 1000)  # let the entries become claimable
    await _drain_with(survivor)
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch)
    assert await usage_by_key(engine) == per_key(batch)
    assert (survivor.counters.written, survivor.counters.duplicates) == (60, 0)
    assert await _pending(redis, redis_prefix) == 0


async def test_a_writer_dead_after_writing_is_not_counted_twice(
        engine: AsyncEngine, key_ids: list[str], redis: Redis, redis_prefix: str,
        tmp_path: Path) -> None:
    dead = _consumer(engine, redis, redis_prefix, tmp_path, "node-a-1")
    survivor = _consumer(engine, redis, redis_prefix, tmp_path, "node-b-1")
    await dead.ensure_group()
    batch = records(key_ids, 60)
    await _produce(redis, redis_prefix, batch, tmp_path, engine)
    entries = await dead.read()
    written = [record for _id, fields in entries for record in decode_entry(fields) or []]
    assert await dead.writer.persist(written) == 0  # in the database, then killed before XACK
    await asyncio.sleep(2 * CLAIM_IDLE_MS / 1000)
    await _drain_with(survivor)
    ids = await stored_ids(engine)
    assert sorted(ids) == sorted(r.id for r in batch)
    assert await usage_by_key(engine) == per_key(batch)
    assert (survivor.counters.written, survivor.counters.duplicates) == (40, 20)
    assert await _pending(redis, redis_prefix) == 0


async def test_a_writer_task_killed_mid_batch_is_taken_over(
        engine: AsyncEngine, key_ids: list[str], redis: Redis, redis_prefix: str,
        tmp_path: Path) -> None:
    """A real cancel: the writer's transaction is blocked by a row lock when its task dies."""
    if engine.dialect.name != "postgresql":
        pytest.skip("holding a writer inside its transaction uses a PostgreSQL row lock")
    victim = _consumer(engine, redis, redis_prefix, tmp_path, "node-a-1")
    survivor = _consumer(engine, redis, redis_prefix, tmp_path, "node-b-1")
    batch = records(key_ids[:1], 20)
    await _produce(redis, redis_prefix, batch, tmp_path, engine)
    async with engine.connect() as locker:
        await locker.execute(sa.select(api_keys.c.id).where(api_keys.c.key_id == key_ids[0])
                             .with_for_update())
        locker_pid = await locker.scalar(sa.text("SELECT pg_backend_pid()"))
        task = asyncio.ensure_future(victim.run(asyncio.Event()))
        await _wait_blocked_by(engine, int(locker_pid or 0))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await locker.rollback()
    assert await _pending(redis, redis_prefix) == 4
    await asyncio.sleep(2 * CLAIM_IDLE_MS / 1000)
    await _drain_with(survivor)
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in batch)
    assert await usage_by_key(engine) == {key_ids[0]: 20, key_ids[1]: 0, key_ids[2]: 0}
    assert (survivor.counters.written, survivor.counters.duplicates) == (20, 0)
    assert await _pending(redis, redis_prefix) == 0


async def _wait_blocked_by(engine: AsyncEngine, locker_pid: int) -> None:
    """Until a backend waits for ``locker_pid``'s lock (the victim's UPDATE of api_keys)."""
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    for _ in range(3000):
        async with engine.connect() as conn:
            if await conn.scalar(query, {"pid": locker_pid}):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer never blocked on the row lock")


async def test_valkey_flushed_under_a_running_node_loses_nothing_after(
        engine: AsyncEngine, key_ids: list[str], redis: Redis, redis_prefix: str,
        tmp_path: Path) -> None:
    node = _pipeline(engine, redis, redis_prefix, tmp_path, "node-a")
    before, after = records(key_ids, 10), records(key_ids, 10)
    await node.start()
    try:
        for record in before:
            node.sink.submit(record)
        await wait_until(lambda: node.written == 10, "the first records written")
        await redis.delete(f"{redis_prefix}{STREAM_NAME}")  # stream and group gone
        for record in after:
            node.sink.submit(record)
        await wait_until(lambda: node.written == 20, "the records after the flush written")
    finally:
        await node.stop()
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in before + after)


async def test_valkey_down_spools_and_the_spool_reaches_the_database(
        engine: AsyncEngine, key_ids: list[str], private_redis: RedisProcess,
        tmp_path: Path) -> None:
    client = redis_client(private_redis.url, Parameters())
    node = _pipeline(engine, client, "", tmp_path, "node-a")
    through_stream, while_down = records(key_ids, 30), records(key_ids, 40)
    await node.start()
    try:
        for record in through_stream:
            node.sink.submit(record)
        await wait_until(lambda: node.written == 30, "the records sent through the stream")
        private_redis.stop()
        for record in while_down:
            node.sink.submit(record)
        await wait_until(lambda: node.replayed == 40, "the spooled records replayed")
    finally:
        await node.stop()
        await client.aclose()
    assert sorted(await stored_ids(engine)) == sorted(r.id for r in through_stream + while_down)
    assert await usage_by_key(engine) == per_key(through_stream + while_down)
    assert (node.spooled, node.written, node.dropped) == (40, 70, 0)


async def test_undecodable_entries_are_rejected_and_foreign_types_left_pending(
        engine: AsyncEngine, key_ids: list[str], redis: Redis, redis_prefix: str,
        tmp_path: Path) -> None:
    consumer = _consumer(engine, redis, redis_prefix, tmp_path, "node-a-1")
    await consumer.ensure_group()
    key = f"{redis_prefix}{STREAM_NAME}"
    await redis.xadd(key, {"type": "usage_log/1", "records": "[[not json"})
    await redis.xadd(key, {"type": "usage_log/2", "records": "[]"})
    await _produce(redis, redis_prefix, records(key_ids, 5), tmp_path, engine)
    assert await consumer.step() == 3
    assert (consumer.counters.rejected, consumer.counters.written) == (1, 5)
    pending = await redis.xpending_range(key, GROUP, "-", "+", 10)
    assert [entry["consumer"] for entry in pending] == ["node-a-1"]  # the usage_log/2 one
    assert await redis.xlen(key) == 1


async def test_consumers_of_dead_processes_are_removed_from_the_group(
        engine: AsyncEngine, key_ids: list[str], redis: Redis, redis_prefix: str,
        tmp_path: Path) -> None:
    dead = _consumer(engine, redis, redis_prefix, tmp_path, "node-a-1")
    survivor = _consumer(engine, redis, redis_prefix, tmp_path, "node-b-1")
    await dead.ensure_group()
    await _produce(redis, redis_prefix, records(key_ids, 5), tmp_path, engine)
    assert len(await dead.read()) == 1  # joins the group by reading, then its process ends
    await asyncio.sleep(FORGET_AFTER_CLAIMS * CLAIM_IDLE_MS / 1000 + 0.1)
    assert await survivor.step() == 1  # claims the entry; the finished scan forgets idle ones
    consumers = await redis.xinfo_consumers(f"{redis_prefix}{STREAM_NAME}", GROUP)
    assert [consumer["name"] for consumer in consumers] == ["node-b-1"]
    assert survivor.counters.written == 5
