"""Normal forms, the app:config mirror (in process and in the real Valkey), change publishing."""

from __future__ import annotations

import pytest

from trinity_beast.cache.memory import MemoryCache
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.stores import Stores
from trinity_beast.params.definitions import PARAMS, InvalidParameter
from trinity_beast.params.store import (
    CHANGED_CHANNEL,
    ConfigMirror,
    definition,
    normalise,
    publish_change,
)


@pytest.mark.parametrize(("name", "text", "normal"), [
    ("adaptive_success_threshold", "0.50", "0.5"),
    ("qps", "3", "3.0"),
    ("burst", " 7 ", "7"),
    ("log_level", "Info", "info"),
    ("kraken_prewarm_assets", "NANO, sc,nano", "nano,sc"),
    ("sync_schedule_time", " 02:00 ", "02:00"),
])
def test_normal_form(name: str, text: str, normal: str) -> None:
    assert normalise(name, text) == normal


def test_unknown_names_get_a_suggestion() -> None:
    with pytest.raises(InvalidParameter) as caught:
        definition("burts")
    assert str(caught.value) == "unknown parameter 'burts'; did you mean burst?"
    with pytest.raises(InvalidParameter) as caught:
        definition("zzzz")
    assert str(caught.value) == "unknown parameter 'zzzz'"
    assert definition("qps") is PARAMS["qps"]


async def test_mirror_in_process() -> None:
    mirror = ConfigMirror(MemoryCache())
    assert await mirror.read() == {}
    await mirror.write({"qps": "3.0", "burst": "3"})
    await mirror.write({"qps": "5.0"})
    assert await mirror.read() == {"qps": "5.0"}


async def test_mirror_in_valkey_is_the_prefixed_app_config_hash(
        valkey_cache: ValkeyCache) -> None:
    mirror = ConfigMirror(valkey_cache)
    await mirror.write({"qps": "3.0", "burst": "3", "log_level": "info"})
    await mirror.write({"qps": "1000.0", "burst": "1000"})
    raw = await valkey_cache.client.hgetall(f"{valkey_cache.prefix}app:config")
    assert raw == {"qps": "1000.0", "burst": "1000"}
    assert await mirror.read() == {"qps": "1000.0", "burst": "1000"}
    await mirror.write({})
    assert await valkey_cache.client.exists(f"{valkey_cache.prefix}app:config") == 0


async def test_publish_change_rewrites_app_config_and_tells_the_nodes(
        stores: Stores, valkey_cache: ValkeyCache) -> None:
    await stores.param_store.seed_defaults()
    await stores.param_store.set("cache_ttl_seconds", "4")
    subscription = await valkey_cache.subscribe(CHANGED_CHANNEL)
    try:
        await publish_change(stores.param_store, valkey_cache, ["cache_ttl_seconds"])
        assert await subscription.get() == "cache_ttl_seconds"
    finally:
        await subscription.aclose()
    mirrored = await ConfigMirror(valkey_cache).read()
    assert mirrored == await stores.param_store.load()
    assert mirrored["cache_ttl_seconds"] == "4"


async def test_publish_change_does_nothing_without_a_shared_cache(stores: Stores) -> None:
    cache = MemoryCache()
    subscription = await cache.subscribe(CHANGED_CHANNEL)
    await publish_change(stores.param_store, cache, ["qps"])
    assert subscription.queue.empty()
    assert await cache.hash_get_all("app:config") == {}
