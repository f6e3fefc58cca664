"""The LPO HTTP routes, end to end: a real HTTP client against a running listener."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.api.rig import GOOD_KEY, REVOKED_KEY, LpoRig, lpo_rig
from tests.prices.helpers import quote
from trinity_beast.api.openapi import openapi_document
from trinity_beast.errors import TooManyRequests
from trinity_beast.keys.model import KeyRecord
from trinity_beast.replay.recording import DEFAULT_DIR

AUTH = {"Authorization": f"Bearer {GOOD_KEY}"}


@pytest.fixture
async def rig() -> AsyncIterator[LpoRig]:
    async with lpo_rig(DEFAULT_DIR) as rig:
        yield rig


async def call(rig: LpoRig, method: str, path: str, *, headers: dict[str, str] | None = None,
               body: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    async with aiohttp.ClientSession() as session, session.request(
            method, rig.base + path, headers=headers, data=body) as response:
        data = await response.read()
        parsed = await response.json(content_type=None) if data else None
        return response.status, dict(response.headers), parsed


async def test_price_from_memory(rig: LpoRig) -> None:
    status, headers, body = await call(rig, "GET", "/price?asset=btc", headers=AUTH)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert body["status"] == "✅ [LPO] [test] [BeastTest] [/price] [200]"
    assert (body["asset"], body["price"], body["source"]) == ("BTC", 83371.08, "coinbase-ws")
    assert (body["cached"], body["cache_tier"], body["status_code"]) == (True, "L1_MEMORY", 200)
    assert set(body) >= {"timestamp", "cache_age_seconds", "latency_ms", "duration_ms"}
    [record] = rig.usage.records
    assert (record.api_key_id, record.asset, record.status) == ("ak_live_good00000001", "BTC", 200)
    assert (record.protocol, record.cache_tier, record.endpoint) == ("http", "L1_MEMORY", "/price")


async def test_a_backlogged_usage_log_sheds_requests_instead_of_records(rig: LpoRig) -> None:
    """While the usage buffer is full nothing is answered that could not be logged: 503
    ``overloaded`` with ``Retry-After``, for single and batch requests; answers again after."""
    backlogged = [True]
    rig.service.usage_backlogged = lambda: backlogged[0]
    status, headers, body = await call(rig, "GET", "/price?asset=btc", headers=AUTH)
    assert (status, headers["Retry-After"], body["error"]) == (503, "1", "overloaded")
    status, _, body = await call(rig, "POST", "/prices", headers=AUTH, body=b'{"assets":["btc"]}')
    assert (status, body["error"]) == (503, "overloaded")
    assert rig.usage.records == []
    backlogged[0] = False
    status, _, _ = await call(rig, "GET", "/price?asset=btc", headers=AUTH)
    assert status == 200
    assert len(rig.usage.records) == 1


async def test_price_keeps_exchange_digits(rig: LpoRig) -> None:
    async with aiohttp.ClientSession() as session, session.get(
            rig.base + "/price?asset=BTC", headers=AUTH) as response:
        raw = await response.read()
    assert b'"price":83371.08000,' in raw


async def test_price_from_rest_when_not_in_memory(rig: LpoRig) -> None:
    status, _, body = await call(rig, "GET", "/price?asset=kas", headers=AUTH)
    assert status == 200
    assert (body["source"], body["cached"], body["cache_tier"]) == ("okx-rest", False, "L3_REST")
    assert body["cache_age_seconds"] == 0


@pytest.mark.parametrize(("path", "headers", "code", "error"), [
    ("/price?asset=btc", {}, 401, "missing_api_key"),
    ("/price?asset=btc", {"Authorization": "Basic abc"}, 401, "invalid_api_key"),
    ("/price?asset=btc", {"Authorization": "Bearer nope"}, 401, "invalid_api_key"),
    ("/price?asset=btc", {"Authorization": f"Bearer {REVOKED_KEY}"}, 401, "revoked_api_key"),
    ("/price", AUTH, 400, "missing_parameter"),
    ("/price?asset=", AUTH, 400, "missing_parameter"),
    ("/price?asset=b%20c", AUTH, 400, "invalid_asset"),
    ("/price?asset=" + "x" * 21, AUTH, 400, "invalid_asset"),
    ("/price?asset=nosuchcoin", AUTH, 404, "unknown_asset"),
    ("/price?asset=btc&agg=mean", AUTH, 400, "invalid_parameter"),
    ("/price?asset=btc&agg=median", AUTH, 503, "not_enough_providers"),
    ("/nope", AUTH, 404, "not_found"),
])
async def test_errors_are_structured(rig: LpoRig, path: str, headers: dict[str, str],
                                     code: int, error: str) -> None:
    status, _, body = await call(rig, "GET", path, headers=headers)
    assert status == code
    assert body["error"] == error
    assert body["status_code"] == code
    assert body["status"].startswith("❌ [LPO] [test] [BeastTest] [")
    assert body["message"]


async def test_method_not_allowed_and_cors_preflight(rig: LpoRig) -> None:
    status, headers, body = await call(rig, "DELETE", "/price?asset=btc", headers=AUTH)
    assert (status, body["error"]) == (405, "method_not_allowed")
    assert headers["Allow"] == "GET, OPTIONS"
    status, headers, _ = await call(rig, "OPTIONS", "/prices")
    assert status == 204
    assert "Authorization" in headers["Access-Control-Allow-Headers"]


async def test_rate_limited_gets_retry_after() -> None:
    class Refuse:
        def admit(self, key: KeyRecord, now: float) -> None:
            raise TooManyRequests("slow down", retry_after=0.2)

    async with lpo_rig(DEFAULT_DIR, limiter=Refuse()) as rig:
        status, headers, body = await call(rig, "GET", "/price?asset=btc", headers=AUTH)
    assert (status, body["error"], headers["Retry-After"]) == (429, "rate_limited", "1")
    assert body["retry_after"] == 0.2


async def test_aggregate_median(rig: LpoRig) -> None:
    rig.book.update(quote("BTC", "83371.10", "kraken-ws", at=time.time()))
    rig.book.update(quote("BTC", "83371.30", "okx-rest", at=time.time()))
    status, _, body = await call(rig, "GET", "/price?asset=btc&agg=median", headers=AUTH)
    assert status == 200
    assert body["price"] == 83371.1
    assert body["providers"] == ["coinbase-ws", "kraken-ws", "okx-rest"]


async def test_batch(rig: LpoRig) -> None:
    payload = b'{"assets": ["btc", "BTC", " btc", "kas", "nosuchcoin", "b-c"]}'
    status, _, body = await call(rig, "POST", "/prices", headers=AUTH, body=payload)
    assert status == 200
    assert (body["endpoint"], body["count"]) == ("/prices", 4)
    btc, kas, unknown, bad = body["prices"]
    assert (btc["asset"], btc["price"], btc["cache_tier"]) == ("BTC", 83371.08, "L1_MEMORY")
    assert (kas["asset"], kas["source"]) == ("KAS", "okx-rest")
    assert (unknown["asset"], unknown["error"], unknown["status_code"]) == (
        "NOSUCHCOIN", "unknown_asset", 404)
    assert (bad["asset"], bad["error"]) == ("b-c", "invalid_asset")
    [record] = rig.usage.records
    assert (record.endpoint, record.assets_count, record.asset) == ("/prices", 4, "BTC")


@pytest.mark.parametrize(("payload", "error"), [
    (b"", "missing_body"),
    (b"{nope", "invalid_json"),
    (b'{"asset": "btc"}', "invalid_body"),
    (b'{"assets": "btc"}', "invalid_body"),
    (b'{"assets": []}', "invalid_body"),
    (b'{"assets": [1]}', "invalid_body"),
    (b'{"assets": [' + b",".join(b'"a%d"' % i for i in range(31)) + b"]}", "too_many_assets"),
])
async def test_batch_errors(rig: LpoRig, payload: bytes, error: str) -> None:
    status, _, body = await call(rig, "POST", "/prices", headers=AUTH, body=payload)
    assert (status, body["error"]) == (400, error)


async def test_batch_limit_applies_after_dedup(rig: LpoRig) -> None:
    payload = b'{"assets": [' + b",".join(b'"btc"' for _ in range(100)) + b"]}"
    status, _, body = await call(rig, "POST", "/prices", headers=AUTH, body=payload)
    assert (status, body["count"]) == (200, 1)


async def test_public_endpoints_and_openapi_match_routes(rig: LpoRig) -> None:
    status, _, health = await call(rig, "GET", "/health")
    assert (status, health["server_type"], health["assets_priced"]) == (200, "APP_SERVER", 1)
    assert set(health["feeds"]) == {"bybit", "coinbase", "gateio", "gemini", "kraken", "okx"}
    status, _, listing = await call(rig, "GET", "/exchanges")
    assert status == 200
    assert listing["count"] == 6
    assert "btc" in next(e for e in listing["exchanges"] if e["exchange"] == "coinbase")["assets"]
    status, _, spec = await call(rig, "GET", "/openapi.json")
    assert status == 200
    assert spec == openapi_document()
    served = {path: {m.lower() for m in methods}
              for path, methods in rig.server_app_routes().items()}
    documented = {path: set(ops) for path, ops in spec["paths"].items()}
    # the node's LPO listener adds /metrics and /admin/* (tests/test_app_limits.py)
    assert {path: documented[path] for path in served} == served
    assert set(documented) - set(served) == {
        "/metrics", "/admin/invalidate-key", "/admin/reload-params", "/admin/system-mode",
        "/admin/cluster-stats"}
