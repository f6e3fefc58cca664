"""The SQL parameter store on SQLite and PostgreSQL: seeding, validation, profiles."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.params import SqlParamStore
from trinity_beast.db.schema import application_parameters
from trinity_beast.params.definitions import PARAMS, PROFILES, InvalidParameter
from trinity_beast.params.store import UnknownProfile, apply_profile


@pytest.fixture
def store(engine: AsyncEngine) -> SqlParamStore:
    return SqlParamStore(engine)


async def test_seed_defaults_inserts_every_parameter_once(store: SqlParamStore) -> None:
    assert await store.seed_defaults() == list(PARAMS)
    assert await store.seed_defaults() == []
    values = await store.load()
    assert set(values) == set(PARAMS)
    assert values["adaptive_max_concurrent"] == "6000"
    assert values["adaptive_success_threshold"] == "0.5"  # normal form of the seed's 0.50
    assert values["coinbase_prewarm_assets"].startswith("btc,eth,sol,doge,")
    assert values["demo_api_key"] == "demo-public-2026-03-01-abc123"


async def test_seeding_keeps_values_already_set(store: SqlParamStore) -> None:
    await store.set("cache_ttl_seconds", "12")
    seeded = await store.seed_defaults()
    assert "cache_ttl_seconds" not in seeded
    assert len(seeded) == len(PARAMS) - 1
    assert (await store.load())["cache_ttl_seconds"] == "12"


async def test_set_stores_the_normal_form_with_the_description(store: SqlParamStore,
                                                               engine: AsyncEngine) -> None:
    assert await store.set("okx_prewarm_assets", " KAS, tia ,kas ") == "kas,tia"
    assert await store.set("log_level", "DEBUG") == "debug"
    async with engine.connect() as connection:
        row = (await connection.execute(
            sa.select(application_parameters.c.value, application_parameters.c.description)
            .where(application_parameters.c.key == "okx_prewarm_assets"))).one()
    assert tuple(row) == ("kas,tia", "okx WebSocket subscription list")


@pytest.mark.parametrize(("name", "text", "message"), [
    ("cache_ttl_seconds", "soon", "cache_ttl_seconds: expected an integer, got 'soon'"),
    ("cache_ttl_seconds", "-1", "cache_ttl_seconds: must be at least 0, got '-1'"),
    ("log_level", "loud",
     "log_level: expected one of debug, info, warning, error, critical, got 'loud'"),
    ("cache_ttl", "9", "unknown parameter 'cache_ttl'; did you mean cache_ttl_seconds?"),
])
async def test_a_refused_value_writes_nothing(store: SqlParamStore, name: str, text: str,
                                              message: str) -> None:
    await store.seed_defaults()
    before = await store.load()
    with pytest.raises(InvalidParameter) as caught:
        await store.set(name, text)
    assert str(caught.value) == message
    assert await store.load() == before


async def test_profiles_come_from_the_table(store: SqlParamStore) -> None:
    assert await store.profiles() == {
        "demo": {"qps": "3.0", "burst": "3", "log_level": "info"},
        "performance": {"qps": "1000.0", "burst": "1000", "log_level": "error"},
        "debug": {"qps": "3.0", "burst": "3", "log_level": "debug"},
    }
    assert set(PROFILES) == set(await store.profiles())


async def test_apply_profile_writes_its_values(store: SqlParamStore) -> None:
    await store.seed_defaults()
    assert await apply_profile(store, "performance") == {
        "qps": "1000.0", "burst": "1000", "log_level": "error"}
    values = await store.load()
    assert (values["qps"], values["burst"], values["log_level"]) == ("1000.0", "1000", "error")
    with pytest.raises(UnknownProfile) as caught:
        await apply_profile(store, "turbo")
    assert str(caught.value) == "unknown profile 'turbo'; known profiles: debug, demo, performance"


async def test_set_many_is_all_or_nothing(store: SqlParamStore) -> None:
    await store.seed_defaults()
    before = await store.load()
    with pytest.raises(InvalidParameter) as caught:
        await store.set_many({"qps": "20", "burst": "0"})
    assert str(caught.value) == "burst: must be at least 1, got '0'"
    assert await store.load() == before
    assert await store.set_many({"qps": "20", "burst": "40"}) == {"qps": "20.0", "burst": "40"}
    assert await store.set_many({}) == {}
    values = await store.load()
    assert (values["qps"], values["burst"]) == ("20.0", "40")
