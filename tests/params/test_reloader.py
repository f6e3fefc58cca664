"""Live reload: a database change reaches a Parameters subscriber; mirror order; the run loop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from trinity_beast.cache.memory import MemoryCache
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.engine import begin, create_engine
from trinity_beast.db.params import SqlParamStore
from trinity_beast.db.schema import application_parameters, utcnow
from trinity_beast.db.stores import Stores
from trinity_beast.params.reloader import Reloader
from trinity_beast.params.store import ConfigMirror
from trinity_beast.params.values import Parameters


class Recorder:
    """A Parameters listener that keeps every notification."""

    def __init__(self, params: Parameters) -> None:
        self.calls: list[frozenset[str]] = []
        self.called = asyncio.Event()
        params.subscribe(self)

    def __call__(self, _params: Parameters, changed: frozenset[str]) -> None:
        self.calls.append(changed)
        self.called.set()


class ManualSleep:
    """An injectable sleep: records each requested interval and returns when released."""

    def __init__(self) -> None:
        self.requested: list[float] = []
        self.waiting = asyncio.Event()
        self._release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.requested.append(seconds)
        self.waiting.set()
        await self._release.wait()
        self._release.clear()

    async def elapse(self) -> None:
        """Let the pending sleep end."""
        await asyncio.wait_for(self.waiting.wait(), 5)
        self.waiting.clear()
        self._release.set()


@pytest.fixture
async def seeded(stores: Stores) -> SqlParamStore:
    store = stores.param_store
    assert isinstance(store, SqlParamStore)
    await store.seed_defaults()
    return store


async def test_a_database_change_reaches_the_subscriber(seeded: SqlParamStore) -> None:
    params = Parameters()
    recorder = Recorder(params)
    reloader = Reloader(params, seeded)
    assert await reloader.reload_once() == frozenset()
    assert recorder.calls == []

    await seeded.set("cache_ttl_seconds", "12")
    await seeded.set("okx_prewarm_assets", "kas,tia")
    changed = await reloader.reload_once()
    assert changed == frozenset({"cache_ttl_seconds", "okx_prewarm_assets"})
    assert recorder.calls == [changed]
    assert params.get_int("cache_ttl_seconds") == 12
    assert params.get_assets("okx_prewarm_assets") == ("KAS", "TIA")


async def test_a_bad_stored_value_is_refused_and_the_old_one_kept(
        seeded: SqlParamStore, stores: Stores, caplog: pytest.LogCaptureFixture) -> None:
    params = Parameters({"cache_ttl_seconds": "7"})
    async with begin(stores.engine) as connection:  # an operator's direct edit, unvalidated
        await connection.execute(application_parameters.update()
                                 .where(application_parameters.c.key == "cache_ttl_seconds")
                                 .values(value="lots"))
        await connection.execute(application_parameters.insert().values(
            key="retired_param", value="1", updated_at=utcnow()))
    with caplog.at_level(logging.WARNING):
        changed = await Reloader(params, seeded).reload_once()
    assert "cache_ttl_seconds" not in changed
    assert params.get_int("cache_ttl_seconds") == 7
    messages = [(r.getMessage(), getattr(r, "reason", None) or getattr(r, "param", None))
                for r in caplog.records]
    assert ("parameter refused", "cache_ttl_seconds: expected an integer, got 'lots'") in messages
    assert ("stored parameter unknown to this version, ignored", "retired_param") in messages


async def test_periodic_reload_prefers_the_mirror_and_on_demand_reads_the_database(
        seeded: SqlParamStore, valkey_cache: ValkeyCache) -> None:
    params = Parameters()
    mirror = ConfigMirror(valkey_cache)
    reloader = Reloader(params, seeded, mirror)
    await reloader.reload_once()  # empty app:config: database, then write-through
    assert await mirror.read() == await seeded.load()

    await seeded.set("qps", "50")
    assert await reloader.reload_once() == frozenset()  # app:config still says 3
    assert params.get_float("qps") == 3.0
    assert await reloader.reload_once(from_database=True) == frozenset({"qps"})
    assert params.get_float("qps") == 50.0
    assert (await mirror.read())["qps"] == "50.0"


async def test_apply_profile_reloads_at_once(seeded: SqlParamStore) -> None:
    params = Parameters()
    recorder = Recorder(params)
    values = await Reloader(params, seeded, ConfigMirror(MemoryCache())).apply_profile("debug")
    assert values == {"qps": "3.0", "burst": "3", "log_level": "debug"}
    assert recorder.calls == [frozenset({"log_level"})]
    assert params.get_str("log_level") == "debug"


async def test_run_waits_the_interval_and_reloads_on_demand(seeded: SqlParamStore) -> None:
    params = Parameters()
    recorder = Recorder(params)
    sleep = ManualSleep()
    reloader = Reloader(params, seeded)
    task = asyncio.create_task(reloader.run(sleep=sleep))
    try:
        await seeded.set("application_parameter_interval_minutes", "1")
        await sleep.elapse()  # the 5-minute wait ends: periodic reload
        await asyncio.wait_for(recorder.called.wait(), 5)
        assert recorder.calls == [frozenset({"application_parameter_interval_minutes"})]

        recorder.called.clear()
        await asyncio.wait_for(sleep.waiting.wait(), 5)
        await seeded.set("burst", "9")
        reloader.reload_now()  # no time passes: the wait is cut short
        await asyncio.wait_for(recorder.called.wait(), 5)
        assert recorder.calls[-1] == frozenset({"burst"})
        await asyncio.wait_for(sleep.waiting.wait(), 5)
        assert sleep.requested == [300.0, 60.0, 60.0]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_run_survives_an_unreachable_database(caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:1/test")
    params = Parameters()
    sleep = ManualSleep()
    task = asyncio.create_task(Reloader(params, SqlParamStore(engine)).run(sleep=sleep))
    try:
        with caplog.at_level(logging.WARNING):
            await sleep.elapse()
            await asyncio.wait_for(sleep.waiting.wait(), 5)  # next round started: still alive
        assert [r.getMessage() for r in caplog.records] == [
            "parameter reload failed, values kept"]
        assert params.as_text() == Parameters().as_text()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await engine.dispose()


async def test_follow_turns_messages_into_reloads(seeded: SqlParamStore) -> None:
    cache = MemoryCache()
    params = Parameters()
    recorder = Recorder(params)
    reloader = Reloader(params, seeded)
    sleep = ManualSleep()
    subscription = await cache.subscribe("params:changed")
    tasks = [asyncio.create_task(reloader.run(sleep=sleep)),
             asyncio.create_task(reloader.follow(subscription))]
    try:
        await asyncio.wait_for(sleep.waiting.wait(), 5)
        await seeded.set("cache_ttl_seconds", "3")
        assert await cache.publish("params:changed", "cache_ttl_seconds") == 1
        await asyncio.wait_for(recorder.called.wait(), 5)
        assert recorder.calls == [frozenset({"cache_ttl_seconds"})]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await subscription.aclose()
