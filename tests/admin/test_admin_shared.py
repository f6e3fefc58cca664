"""The admin endpoints with the real Valkey: every node is told (published invalidations and
parameter changes), the Valkey copies are rewritten, and cluster stats add up the nodes."""

from __future__ import annotations

import asyncio

from tests.admin.conftest import AdminRig
from trinity_beast.admin.cluster_stats import TTL_SECONDS, ClusterStats, Figures
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.keys.cache import INVALIDATE_CHANNEL
from trinity_beast.params.store import CHANGED_CHANNEL
from trinity_beast.sync.records import key_fields


def valkey(rig: AdminRig) -> ValkeyCache:
    assert isinstance(rig.stores.cache, ValkeyCache)
    return rig.stores.cache


async def test_invalidation_is_announced_and_the_valkey_copy_rewritten(
        shared_rig: AdminRig) -> None:
    cache = valkey(shared_rig)
    plaintext, record = await shared_rig.stores.keys.create("pro")
    updated = await shared_rig.stores.keys.set_tier(record.key_id, "enterprise")
    subscription = await cache.subscribe(INVALIDATE_CHANNEL)
    try:
        status, _, _ = await shared_rig.call("POST", "/admin/invalidate-key",
                                             body={"api_key": plaintext})
        assert status == 200
        assert await asyncio.wait_for(subscription.get(), 5) == record.key_id
    finally:
        await subscription.aclose()
    stored = await cache.client.hgetall(cache.key(f"apikey:{record.key_hash}"))
    assert stored == key_fields(updated)
    assert stored["tier"] == "enterprise"


async def test_parameter_changes_reach_app_config_and_the_nodes(shared_rig: AdminRig) -> None:
    cache = valkey(shared_rig)
    subscription = await cache.subscribe(CHANGED_CHANNEL)
    try:
        await shared_rig.stores.param_store.set("retention_days", "40")
        assert (await shared_rig.call("POST", "/admin/reload-params"))[0] == 200
        assert await asyncio.wait_for(subscription.get(), 5) == "retention_days"
        assert (await cache.hash_get_all("app:config"))["retention_days"] == "40"

        assert (await shared_rig.call("POST", "/admin/system-mode?mode=performance"))[0] == 200
        assert await asyncio.wait_for(subscription.get(), 5) == "burst,log_level,qps"
        assert (await cache.hash_get_all("app:config"))["qps"] == "1000.0"
    finally:
        await subscription.aclose()


async def test_cluster_stats_add_up_every_published_process(shared_rig: AdminRig) -> None:
    cache = valkey(shared_rig)
    other = ClusterStats("BeastMirror", "APP_REPORT_SERVER",
                         lambda: Figures(requests=100, errors=2, feeds_live=6,
                                         assets_priced=150), cache, pid=7)
    await other.publish_once()
    await shared_rig.services.stats.publish_once()
    assert 0 < await cache.client.ttl(cache.key("cluster:stats:BeastMirror:7")) <= TTL_SECONDS

    status, _, body = await shared_rig.call("GET", "/admin/cluster-stats")
    assert status == 200
    assert body["source"] == "valkey"
    assert body["totals"] == {"nodes": 2, "processes": 2, "requests": 107, "errors": 2}
    assert [(p["node"], p["pid"], p["requests"], p["feeds_live"]) for p in body["processes"]
            ] == [("BeastMirror", 7, 100, 6), ("BeastTest", 4242, 7, 0)]
