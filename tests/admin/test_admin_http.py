"""The admin endpoints end to end: a real HTTP client against a running listener over real
stores (SQLite and PostgreSQL), with the audit log checked after each call."""

from __future__ import annotations

import pytest

from tests.admin.conftest import ADMIN_KEY, AdminRig, RigFactory

ENDPOINTS = [("POST", "/admin/invalidate-key"), ("POST", "/admin/reload-params"),
             ("GET", "/admin/system-mode"), ("POST", "/admin/system-mode?mode=demo"),
             ("GET", "/admin/cluster-stats")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_no_admin_key_configured_means_disabled(make_rig: RigFactory, method: str,
                                                      path: str) -> None:
    rig: AdminRig = await make_rig(admin_key=None)
    status, _, body = await rig.call(method, path, key="anything")
    endpoint = path.partition("?")[0]
    assert (status, body["error"]) == (403, "admin_disabled")
    assert body["status"] == f"❌ [LPO] [test] [BeastTest] [{endpoint}] [403]"
    [line] = rig.audit_lines()
    assert (line["endpoint"], line["outcome"], line["status"]) == (
        endpoint, "admin_disabled", 403)


async def test_missing_wrong_and_right_admin_key(rig: AdminRig) -> None:
    status, _, body = await rig.call("GET", "/admin/cluster-stats", key=None)
    assert (status, body["error"], body["status_code"]) == (401, "missing_admin_key", 401)
    status, _, body = await rig.call("GET", "/admin/cluster-stats", key=ADMIN_KEY + "x")
    assert (status, body["error"]) == (403, "invalid_admin_key")
    status, _, body = await rig.call("GET", "/admin/cluster-stats")
    assert status == 200
    assert body["status"] == "✅ [LPO] [test] [BeastTest] [/admin/cluster-stats] [200]"
    assert [(line["outcome"], line["status"]) for line in rig.audit_lines()] == [
        ("missing_admin_key", 401), ("invalid_admin_key", 403), ("ok", 200)]
    assert ADMIN_KEY not in rig.audit_text()


async def test_attempts_are_limited_per_client(make_rig: RigFactory) -> None:
    rig: AdminRig = await make_rig(attempts=3)
    for _ in range(3):
        assert (await rig.call("GET", "/admin/cluster-stats", key="guess"))[0] == 403
    status, headers, body = await rig.call("GET", "/admin/cluster-stats")
    assert (status, body["error"], headers["Retry-After"]) == (429, "admin_rate_limited", "100")
    assert body["retry_after"] == 100.0  # 3 attempts per 300 s: one every 100 s
    assert (await rig.call("GET", "/admin/cluster-stats"))[0] == 429
    rig.guard_clock.now += 100
    assert (await rig.call("GET", "/admin/cluster-stats"))[0] == 200
    assert [(line["outcome"], line.get("refused_before")) for line in rig.audit_lines()] == [
        ("invalid_admin_key", None), ("invalid_admin_key", None), ("invalid_admin_key", None),
        ("admin_rate_limited", None), ("ok", 2)]
    assert {line["client_ip"] for line in rig.audit_lines()} == {"127.0.0.1"}


async def test_invalidate_by_api_key_rereads_the_database(rig: AdminRig) -> None:
    plaintext, record = await rig.stores.keys.create("pro")
    rig.keys.put(record)
    await rig.stores.keys.set_tier(record.key_id, "enterprise")  # behind the cache's back
    status, _, body = await rig.call("POST", "/admin/invalidate-key",
                                     body={"api_key": plaintext})
    assert status == 200
    assert body == {"status": "✅ [LPO] [test] [BeastTest] [/admin/invalidate-key] [200]",
                    "status_code": 200, "endpoint": "/admin/invalidate-key",
                    "invalidated": True, "key_id": record.key_id, "tier": "enterprise",
                    "revoked": False}
    cached = rig.keys.lookup(plaintext)
    assert cached is not None and cached.tier == "enterprise"
    [line] = rig.audit_lines()
    assert (line["outcome"], line["key_id"]) == ("ok", record.key_id)
    assert plaintext not in rig.audit_text()


async def test_invalidate_by_key_id(rig: AdminRig) -> None:
    _, record = await rig.stores.keys.create("free")
    await rig.stores.keys.revoke(record.key_id)
    status, _, body = await rig.call("POST", f"/admin/invalidate-key?key_id={record.key_id}")
    assert (status, body["revoked"]) == (200, True)
    status, _, body = await rig.call("POST", "/admin/invalidate-key",
                                     body={"key_id": record.key_id})
    assert (status, body["key_id"]) == (200, record.key_id)
    cached = rig.keys.get(record.key_id)
    assert cached is not None and cached.revoked


async def test_invalidate_refusals(rig: AdminRig) -> None:
    cases = [
        ({"key_id": "ak_live_nope00000000"}, None, 404, "unknown_key"),
        ({"api_key": "tbk_not-a-key"}, None, 404, "unknown_key"),
        ({}, None, 400, "missing_parameter"),
        ({"api_key": "tbk_x", "key_id": "ak_live_x"}, None, 400, "invalid_parameter"),
        ({"key": "x"}, None, 400, "invalid_json"),
        (None, b"{not json", 400, "invalid_json"),
    ]
    for body, raw, status, code in cases:
        answer = await rig.call("POST", "/admin/invalidate-key", body=body, raw=raw)
        assert (answer[0], answer[2]["error"]) == (status, code), body
    lines = rig.audit_lines()
    assert [line["outcome"] for line in lines] == [code for *_, code in cases]
    assert lines[0]["key_id"] == "ak_live_nope00000000"
    assert "key_id" not in lines[1]  # an unknown key is never written down


async def test_reload_params_answers_the_changed_names(rig: AdminRig) -> None:
    await rig.stores.param_store.set_many({"qps": "7", "retention_days": "30"})
    status, _, body = await rig.call("POST", "/admin/reload-params")
    assert (status, body["reloaded"], body["changed"]) == (200, True, ["qps", "retention_days"])
    assert rig.stores.params.get_float("qps") == 7.0
    status, _, body = await rig.call("POST", "/admin/reload-params")
    assert (status, body["changed"]) == (200, [])
    assert [line.get("detail") for line in rig.audit_lines()] == ["qps,retention_days", None]


async def test_system_mode(rig: AdminRig) -> None:
    status, _, body = await rig.call("GET", "/admin/system-mode")
    assert status == 200
    assert (body["mode"], body["profiles"]) == ("custom", ["debug", "demo", "performance"])
    assert body["values"] == {"burst": "3", "log_level": "error", "qps": "3.0"}

    status, _, body = await rig.call("POST", "/admin/system-mode?mode=Performance")
    assert (status, body["mode"]) == (200, "performance")
    assert body["applied"] == {"qps": "1000.0", "burst": "1000", "log_level": "error"}
    assert rig.stores.params.get_float("qps") == 1000.0
    assert (await rig.call("GET", "/admin/system-mode"))[2]["mode"] == "performance"

    status, _, body = await rig.call("POST", "/admin/system-mode", body={"mode": "debug"})
    assert (status, rig.stores.params.get_str("log_level")) == (200, "debug")
    status, _, body = await rig.call("GET", "/admin/system-mode?mode=turbo")
    assert (status, body["error"]) == (400, "unknown_mode")
    assert "known profiles: debug, demo, performance" in body["message"]
    status, _, body = await rig.call("POST", "/admin/system-mode")
    assert (status, body["error"]) == (400, "missing_parameter")
    assert [line.get("detail") for line in rig.audit_lines()] == [
        None, "performance", None, "debug", "turbo", None]


async def test_cluster_stats_without_valkey_is_this_process(rig: AdminRig) -> None:
    status, _, body = await rig.call("GET", "/admin/cluster-stats")
    assert status == 200
    assert body["source"] == "local"
    assert body["totals"] == {"nodes": 1, "processes": 1, "requests": 7, "errors": 0}
    [process] = body["processes"]
    assert (process["node"], process["pid"], process["role"]) == (
        "BeastTest", 4242, "APP_REPORT_SERVER")


async def test_wrong_method_is_405(rig: AdminRig) -> None:
    status, headers, body = await rig.call("GET", "/admin/invalidate-key")
    assert (status, body["error"], headers["Allow"]) == (405, "method_not_allowed",
                                                         "POST, OPTIONS")


async def test_a_database_outage_is_503_and_audited(rig: AdminRig) -> None:
    async with rig.stores.engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE api_keys")
    status, _, body = await rig.call("POST", "/admin/invalidate-key",
                                     body={"key_id": "ak_live_0123456789ab"})
    assert (status, body["error"]) == (503, "database_unavailable")
    assert "run: beast migrate" in body["message"]
    [line] = rig.audit_lines()
    assert (line["outcome"], line["status"], line["key_id"]) == (
        "database_unavailable", 503, "ak_live_0123456789ab")


async def test_a_key_gone_from_the_database_leaves_the_cache(rig: AdminRig) -> None:
    plaintext, record = await rig.stores.keys.create("pro")
    rig.keys.put(record)
    async with rig.stores.engine.begin() as conn:
        await conn.exec_driver_sql(f"DELETE FROM api_keys WHERE key_id = '{record.key_id}'")
    status, _, body = await rig.call("POST", "/admin/invalidate-key",
                                     body={"api_key": plaintext})
    assert (status, body["error"]) == (404, "unknown_key")
    assert rig.keys.lookup(plaintext) is None
    assert rig.audit_lines()[0]["key_id"] == record.key_id
