"""The composition root end to end: a node on SQLite fed by the bundled replay exchange."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiohttp

from trinity_beast.app import Beast
from trinity_beast.replay.recording import DEFAULT_DIR
from trinity_beast.settings import Settings

DEMO = {"Authorization": "Bearer demo-public-2026-03-01-abc123"}


def settings(tmp_path: Path, role: str) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'beast.db'}", role=role, node="T",
                    host="127.0.0.1", lpo_http_port=0, webhook_health_port=0, lrs_http_port=0,
                    lrs_udp_port=0, lpo_udp_port=0, var_dir=tmp_path)


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_app_server_serves_demo_key_from_replay(tmp_path: Path) -> None:
    beast = await Beast.open(settings(tmp_path, "APP_SERVER"), replay_dir=DEFAULT_DIR)
    await beast.start()
    try:
        base = f"http://127.0.0.1:{beast.servers['lpo'].port}"
        for _ in range(200):
            if beast.book.latest("BTC") is not None:
                break
            await asyncio.sleep(0.05)
        status, body = await get(base + "/price?asset=btc", DEMO)
        assert status == 200
        assert (body["asset"], body["source"]) == ("BTC", "coinbase-ws")
        assert body["status"] == "✅ [LPO] [local] [T] [/price] [200]"
        status, health = await get(base + "/health")
        assert (status, health["server_type"]) == (200, "APP_SERVER")
        assert set(beast.servers) == {"lpo"}
        status, _ = await get(base + "/price?asset=nosuchcoin1", DEMO)
        assert status in {404, 503}
        async with aiohttp.ClientSession() as session, session.get(base + "/metrics") as r:
            metrics = await r.text()
        assert r.status == 200
        assert 'beast_feed_live{exchange="coinbase"} 1.0' in metrics
        assert 'beast_http_requests_total{listener="lpo"}' in metrics
        assert "beast_usage_submitted_total" in metrics
    finally:
        await beast.stop()
    with sqlite3.connect(tmp_path / "beast.db") as db:  # drained on stop: nothing lost
        rows = db.execute("select asset, status, protocol, api_key_id from usage_logs "
                          "order by created_at").fetchall()
        usage = db.execute("select current_usage from api_keys where tier = 'demo'").fetchone()
    assert [r[:3] for r in rows] == [("BTC", 200, "http"), ("NOSUCHCOIN1", status, "http")]
    assert rows[0][3].startswith("ak_demo_")
    assert usage == (2,)


async def test_report_server_serves_lpo_and_lrs(tmp_path: Path) -> None:
    beast = await Beast.open(settings(tmp_path, "APP_REPORT_SERVER").with_(feeds_enabled=False))
    await beast.start()
    try:
        assert set(beast.servers) == {"lpo", "lrs"}
        assert set(beast.udp_servers) == {"lpo", "lrs"}
        lrs = f"http://127.0.0.1:{beast.servers['lrs'].port}"
        status, body = await get(lrs + "/reports/summary", DEMO)
        assert (status, body["endpoint"]) == (200, "/reports/summary")
        assert str(body["status"]).startswith("✅ [LRS] [local] [T] ")
        status, body = await get(lrs + "/reports/usage")
        assert (status, body["error"]) == (401, "missing_api_key")
    finally:
        await beast.stop()


async def test_webhook_role_serves_only_health(tmp_path: Path) -> None:
    beast = await Beast.open(settings(tmp_path, "WEBHOOK_SERVER").with_(feeds_enabled=False))
    await beast.start()
    try:
        assert set(beast.servers) == {"webhook"}
        base = f"http://127.0.0.1:{beast.servers['webhook'].port}"
        status, health = await get(base + "/health")
        assert (status, health["server_type"], health["endpoint"]) == (
            200, "WEBHOOK_SERVER", "/health")
        assert str(health["status"]).startswith("✅ [WEBHOOK] ")
        status, body = await get(base + "/price?asset=btc", DEMO)
        assert (status, body["error"]) == (404, "not_found")
    finally:
        await beast.stop()
