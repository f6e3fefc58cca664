"""The sync job against a real database of each backend and the real Valkey: full and
incremental runs, what a full run removes, the high-water marks, the lock, no Valkey."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.sync.conftest import add_reports, add_usage, at, valkey, zset
from trinity_beast.db.engine import begin
from trinity_beast.db.schema import api_keys
from trinity_beast.db.stores import Stores
from trinity_beast.keys.model import KeyRecord
from trinity_beast.params.definitions import PARAMS
from trinity_beast.params.store import normalise
from trinity_beast.sync.job import run_sync
from trinity_beast.sync.records import key_fields

NOW = at("2026-06-15T12:00:00")
T0 = NOW - timedelta(hours=3)
CACHE_LINES = ["api keys", "parameters", "usage index", "report usage", "index retention"]


async def two_keys(stores: Stores) -> tuple[KeyRecord, KeyRecord]:
    _, first = await stores.keys.create("pro", name="first")
    _, second = await stores.keys.create("free", email="b@example.org")
    return first, second


async def test_full_run_copies_everything(shared: Stores) -> None:
    cache = valkey(shared)
    first, second = await two_keys(shared)
    await shared.param_store.seed_defaults()
    await add_usage(shared, [("u1", first.key_id, T0), ("u2", second.key_id, T0 + timedelta(
        seconds=1.5)), ("u3", first.key_id, T0 + timedelta(minutes=1))])
    await add_reports(shared, [("r1", first.key_id, T0), ("r2", first.key_id, T0 + timedelta(
        seconds=2)), ("r3", second.key_id, T0)])

    report = await run_sync(shared, full=True, now=NOW)

    assert [(p.name, p.mode, p.count) for p in report.parts[3:]] == [
        ("api keys", "full", 2), ("parameters", "full", len(PARAMS)),
        ("usage index", "full", 3), ("report usage", "full", 3), ("index retention", "full", 0)]
    assert await zset(cache, "usage_logs:index") == [
        ("u1", T0.timestamp()), ("u2", T0.timestamp() + 1.5), ("u3", T0.timestamp() + 60)]
    assert await zset(cache, f"report_usage:{first.key_id}") == [
        ("r1", T0.timestamp()), ("r2", T0.timestamp() + 2)]
    assert await zset(cache, f"report_usage:{second.key_id}") == [("r3", T0.timestamp())]
    fresh = await shared.keys.get(first.key_id)
    assert fresh is not None
    stored = await cache.client.hgetall(cache.key(f"apikey:{first.key_hash}"))
    assert stored == key_fields(fresh)
    assert stored["current_usage"] == "2"
    assert "email" not in await cache.client.hgetall(cache.key(f"apikey:{second.key_hash}"))
    assert await cache.hash_get_all("app:config") == {
        name: normalise(name, p.default) for name, p in PARAMS.items()}
    usage_mark = await cache.client.hgetall(cache.key("sync:hwm:usage_logs"))
    assert (usage_mark["at"], usage_mark["id"], usage_mark["mode"]) == (
        (T0 + timedelta(minutes=1)).isoformat(), "u3", "full")


async def test_key_hash_fields(stores: Stores) -> None:
    first, _ = await two_keys(stores)
    fields = key_fields(first)
    assert "key_hash" not in fields
    assert fields["key_id"] == first.key_id
    assert fields["lrs_enabled"] == "false"
    assert fields["name"] == "first"
    assert "user_id" not in fields  # NULL columns are absent fields
    assert fields["updated_at"] == first.updated_at.isoformat()


async def test_incremental_run_adds_only_what_is_new(shared: Stores) -> None:
    cache = valkey(shared)
    first, second = await two_keys(shared)
    await add_usage(shared, [("old1", first.key_id, T0), ("old2", first.key_id, T0)])
    await add_reports(shared, [("r-old", first.key_id, T0)])
    await run_sync(shared, full=True, now=NOW)
    mark = T0  # the newest row synced so far

    await add_usage(shared, [
        ("new1", second.key_id, NOW - timedelta(minutes=10)),
        ("late", first.key_id, mark - timedelta(minutes=1)),      # within the look-back
        ("too-late", first.key_id, mark - timedelta(minutes=10)),  # before it: next full run
    ])
    await add_reports(shared, [("r-new", second.key_id, NOW - timedelta(minutes=5))])
    report = await run_sync(shared, now=NOW)

    assert [(p.name, p.mode, p.count) for p in report.parts[3:]] == [
        ("api keys", "incremental", 2), ("parameters", "full", 0),
        ("usage index", "incremental", 4), ("report usage", "incremental", 2),
        ("index retention", "full", 0)]
    assert [m for m, _ in await zset(cache, "usage_logs:index")] == [
        "late", "old1", "old2", "new1"]
    assert await zset(cache, f"report_usage:{second.key_id}") == [
        ("r-new", (NOW - timedelta(minutes=5)).timestamp())]
    assert (await cache.client.hgetall(cache.key(f"apikey:{second.key_hash}")))[
        "current_usage"] == "1"

    report = await run_sync(shared, full=True, now=NOW)
    assert report.part("usage index").count == 5
    assert [m for m, _ in await zset(cache, "usage_logs:index")] == [
        "too-late", "late", "old1", "old2", "new1"]


async def test_full_run_removes_what_the_database_no_longer_has(shared: Stores) -> None:
    cache = valkey(shared)
    first, second = await two_keys(shared)
    await add_usage(shared, [("u1", first.key_id, T0)])
    await add_reports(shared, [("r1", second.key_id, T0)])
    await run_sync(shared, full=True, now=NOW)
    await cache.client.zadd(cache.key("usage_logs:index"), {"ghost": 1.0})
    await cache.client.zadd(cache.key("report_usage:ak_live_gone00000000"), {"ghost": 1.0})
    async with begin(shared.engine) as conn:
        await conn.execute(api_keys.delete().where(api_keys.c.key_id == second.key_id))
        await conn.execute(sa.text("DELETE FROM report_usage_logs"))

    report = await run_sync(shared, full=True, now=NOW)

    assert report.part("api keys").summary == "full, 1 keys, 1 removed"
    assert await zset(cache, "usage_logs:index") == [("u1", T0.timestamp())]
    assert [key async for key in cache.client.scan_iter(match=cache.key("report_usage:*"))] == []
    assert [key async for key in cache.client.scan_iter(match=cache.key("apikey:*"))] == [
        cache.key(f"apikey:{first.key_hash}")]
    assert [key async for key in cache.client.scan_iter(match=cache.key("sync:rebuild:*"))] == []


async def test_incremental_run_without_marks_or_index_is_full(shared: Stores) -> None:
    cache = valkey(shared)
    first, _ = await two_keys(shared)
    await add_usage(shared, [("u1", first.key_id, T0)])
    report = await run_sync(shared, now=NOW)
    assert [shared_part.mode for shared_part in report.parts[3:7]] == [
        "full", "full", "full", "full"]
    await cache.client.delete(cache.key("usage_logs:index"))
    report = await run_sync(shared, now=NOW)
    assert (report.part("usage index").mode, report.part("usage index").count) == ("full", 1)
    assert await zset(cache, "usage_logs:index") == [("u1", T0.timestamp())]


async def test_without_valkey_the_database_parts_still_run(stores: Stores) -> None:
    report = await run_sync(stores, now=NOW)
    assert [p.name for p in report.parts] == [
        "monthly reset", "retention", "usage rollup", *CACHE_LINES]
    assert report.lines()[3:] == [
        f"{name}: skipped: no Valkey configured (REDIS_URL)" for name in CACHE_LINES]


async def test_a_second_run_at_once_is_skipped(shared: Stores) -> None:
    if shared.is_sqlite:
        return  # one machine: SQLite serialises the writes, no lock is taken
    async with begin(shared.engine) as conn:
        await conn.execute(sa.text(
            "SELECT pg_advisory_xact_lock(hashtext('trinity_beast.sync.' || current_schema()))"))
        report = await run_sync(shared, now=NOW)
    assert report.lines() == ["sync: skipped: another sync is running"]
