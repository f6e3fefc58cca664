"""The composition root: implementations picked from the settings, the database prepared."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from trinity_beast.cache.memory import MemoryCache
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.migrate import current_revision
from trinity_beast.db.params import SqlParamStore
from trinity_beast.db.stores import Stores, build_stores, opened_stores, prepare_database
from trinity_beast.keys.hashing import demo_key_id
from trinity_beast.params.definitions import PARAMS
from trinity_beast.settings import Settings


async def test_embedded_default_is_sqlite_with_the_in_process_cache(tmp_path: Path) -> None:
    stores = build_stores(Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}"))
    try:
        assert stores.is_sqlite
        assert isinstance(stores.keys, SqlKeyStore)
        assert isinstance(stores.param_store, SqlParamStore)
        assert isinstance(stores.cache, MemoryCache)
        assert stores.mirror is None
    finally:
        await stores.aclose()


async def test_redis_url_selects_valkey_and_the_config_mirror(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", redis_url=REDIS_URL,
                        redis_prefix="p:")
    stores = build_stores(settings)
    try:
        assert isinstance(stores.cache, ValkeyCache)
        assert stores.cache.prefix == "p:"
        assert stores.mirror is not None
        assert stores.mirror.name == "app:config"
    finally:
        await stores.aclose()


async def test_prepare_migrates_and_seeds(stores: Stores) -> None:
    stores.settings = stores.settings.with_(seed_demo_key=True)
    prepared = await prepare_database(stores)
    assert prepared.revision == "0002"
    assert prepared.seeded_params == list(PARAMS)
    assert prepared.demo_key is not None
    assert prepared.demo_key.key_id == demo_key_id("demo-public-2026-03-01-abc123")
    again = await prepare_database(stores)
    assert (again.seeded_params, again.demo_key) == ([], prepared.demo_key)


async def test_demo_key_follows_the_parameter_and_can_be_disabled(stores: Stores) -> None:
    await stores.param_store.set("demo_api_key", "demo-other")
    assert (await prepare_database(stores)).demo_key is None
    stores.settings = stores.settings.with_(seed_demo_key=True)
    demo = (await prepare_database(stores)).demo_key
    assert demo is not None
    assert demo.key_id == demo_key_id("demo-other")


@pytest.mark.parametrize("prepare", [None, False])
async def test_sqlite_is_prepared_on_open_unless_told_not_to(tmp_path: Path,
                                                             prepare: bool | None) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}")
    async with opened_stores(settings, prepare=prepare) as stores:
        expected = "0002" if prepare is None else None
        assert await current_revision(stores.engine) == expected
