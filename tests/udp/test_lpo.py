"""Round trips over 127.0.0.1 against a running UdpLpoServer built from the real parts."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable

import pytest

from tests.prices.helpers import FakeClock, quote
from tests.udp.conftest import NOW, DatagramClient, Rig
from trinity_beast.api.price_view import encode, price_body
from trinity_beast.feeds.registry import adapters
from trinity_beast.udp.guard import ReplyGuard
from trinity_beast.udp.limits import UdpLimits
from trinity_beast.udp.lpo import IoMode, UdpLpoServer
from trinity_beast.udp.signing import signature, signing_key

BTC_BODY = {
    "status": "✅ [LPO] [us-east-2] [BeastMain] [/price] [200]", "status_code": 200,
    "endpoint": "/price", "asset": "BTC", "price": 83421.57,
    "timestamp": "2025-12-31T23:59:55.800Z", "exchange_timestamp": "2025-12-31T23:59:55.800Z",
    "source": "coinbase-ws", "cached": True, "cache_age_seconds": 4.2,
    "cache_tier": "L1_MEMORY",
}
BTC_ITEM = {"asset": "BTC", "price": 83421.57, "timestamp": "2025-12-31T23:59:55.800Z",
            "source": "coinbase-ws", "cache_age_seconds": 4.2}
SOL_ITEM = {"asset": "SOL", "price": 150.25, "timestamp": "2025-12-31T23:59:59.000Z",
            "source": "okx-ws", "cache_age_seconds": 1.0}
BTC_LINE = b"BTC|83421.57|1767225595.800|coinbase-ws"
SOL_LINE = b"SOL|150.25|1767225599.000|okx-ws"


def without_timings(body: dict[str, object]) -> dict[str, object]:
    assert body["latency_ms"] == body["duration_ms"]
    return {k: v for k, v in body.items() if k not in {"latency_ms", "duration_ms"}}


def signed_json(rig: Rig, assets: list[str] | str, *, ts: int = int(NOW),
                nonce: str | None = None) -> dict[str, object]:
    nonce = nonce or secrets.token_hex(8)
    batch = isinstance(assets, list)
    names = assets if isinstance(assets, list) else [assets]
    endpoint = "/prices" if batch else "/price"
    sig = signature(signing_key(rig.key), rig.record.key_id, ts, nonce, endpoint, names)
    return {"key_id": rig.record.key_id, "ts": ts, "nonce": nonce,
            ("assets" if batch else "asset"): assets, "sig": sig}


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.001)


async def test_json_single_asset_is_the_http_body(rig: Rig, server: UdpLpoServer,
                                                  client: DatagramClient) -> None:
    reply = await client.ask(json.dumps({"api_key": rig.key, "asset": "btc"}).encode())
    body = json.loads(reply)
    assert without_timings(body) == BTC_BODY
    answer = rig.prices.local("BTC")
    assert answer is not None
    elapsed = body["latency_ms"]
    assert reply == encode(price_body(rig.envelope.status("/price", 200), "/price", answer,
                                      elapsed))
    usage = rig.sink.records[-1]
    assert (usage.api_key_id, usage.asset, usage.assets_count, usage.source, usage.cache_tier,
            usage.status, usage.endpoint, usage.protocol, usage.node, usage.created_at) == (
        rig.record.key_id, "BTC", 1, "coinbase-ws", "L1_MEMORY", 200, "/price", "udp",
        "BeastMain", NOW)
    assert server.counters.received == server.counters.answered == 1
    assert server.governor.in_flight == 0 and not server._tasks  # answered without a task


async def test_json_batch_deduplicates(rig: Rig, client: DatagramClient) -> None:
    body = await client.ask_json({"api_key": rig.key, "assets": ["btc", "sol", "Btc"]})
    assert body == {"status": "✅ [LPO] [us-east-2] [BeastMain] [/prices] [200]",
                    "status_code": 200, "endpoint": "/prices", "count": 2, "truncated": False,
                    "prices": [BTC_ITEM, SOL_ITEM]}
    usage = rig.sink.records[-1]
    assert (usage.endpoint, usage.assets_count, usage.asset, usage.status) == (
        "/prices", 2, "BTC", 200)
    assert rig.limiter.admitted == 1  # a batch is one request


async def test_batch_with_tier3_and_unknown_assets(rig: Rig, client: DatagramClient) -> None:
    body = await client.ask_json({"api_key": rig.key, "assets": ["btc", "eth", "nope"]})
    btc, eth, nope = body["prices"]
    assert btc == BTC_ITEM
    assert (eth["asset"], eth["price"], eth["source"], eth["cache_age_seconds"]) == (
        "ETH", float(rig.exchange.venues["coinbase"].prices["ETH"]),
        adapters()["coinbase"].rest_source, 0.0)
    assert nope == {"asset": "NOPE", "error": "unknown_asset",
                    "message": "no exchange lists NOPE", "status_code": 404}
    assert (body["count"], body["truncated"]) == (3, False)


async def test_single_unknown_asset_is_the_http_error(rig: Rig, client: DatagramClient) -> None:
    body = await client.ask_json({"api_key": rig.key, "asset": "nope"})
    assert body == {"status": "❌ [LPO] [us-east-2] [BeastMain] [/price] [404]",
                    "status_code": 404, "endpoint": "/price", "error": "unknown_asset",
                    "message": "no exchange lists NOPE"}
    usage = rig.sink.records[-1]
    assert (usage.status, usage.asset, usage.source) == (404, "NOPE", None)


async def test_tier2_answer_comes_from_a_task(rig: Rig, server: UdpLpoServer,
                                              client: DatagramClient) -> None:
    await rig.mirror.put_many([quote("DOGE", "0.1234", "gemini-ws", at=NOW - 2.5)], 240)
    body = await client.ask_json({"api_key": rig.key, "asset": "doge"})
    assert without_timings(body) == {
        "status": "✅ [LPO] [us-east-2] [BeastMain] [/price] [200]", "status_code": 200,
        "endpoint": "/price", "asset": "DOGE",
        "price": 0.1234, "timestamp": "2025-12-31T23:59:57.500Z",
        "exchange_timestamp": "2025-12-31T23:59:57.500Z", "source": "gemini-ws",
        "cached": True, "cache_age_seconds": 2.5, "cache_tier": "L2_VALKEY"}
    assert server.governor.in_flight == 0


async def test_text_form(rig: Rig, client: DatagramClient) -> None:
    assert await client.ask(f"{rig.key}|btc".encode()) == BTC_LINE
    assert await client.ask(f"{rig.key}|btc,SOL,nope,btc".encode()) == (
        BTC_LINE + b"\n" + SOL_LINE + b"\nNOPE|ERR|unknown_asset")
    assert await client.ask(f"{rig.key}|nope".encode()) == (
        b"ERR|unknown_asset|no exchange lists NOPE")
    assert await client.ask(f"{rig.key}|b-tc".encode()) == (
        b"ERR|invalid_asset|'asset' must be 1-20 letters or digits")
    assert [r.status for r in rig.sink.records] == [200, 200, 404, 400]


async def test_signed_json_and_text(rig: Rig, client: DatagramClient) -> None:
    body = await client.ask_json(signed_json(rig, "btc"))
    assert without_timings(body) == BTC_BODY
    batch = await client.ask_json(signed_json(rig, ["BTC", "sol"]))
    assert batch["prices"] == [BTC_ITEM, SOL_ITEM]
    nonce = "00112233445566778899aabbccddeeff"
    sig = signature(signing_key(rig.key), rig.record.key_id, int(NOW), nonce, "/prices",
                    ["btc", "sol"])
    text = f"{rig.record.key_id}|{int(NOW)}|{nonce}|btc,sol|{sig}".encode()
    assert await client.ask(text) == BTC_LINE + b"\n" + SOL_LINE
    assert rig.sink.records[-1].api_key_id == rig.record.key_id


async def test_signed_refusals(rig: Rig, server: UdpLpoServer, client: DatagramClient) -> None:
    async def refused(request: dict[str, object]) -> str:
        data = json.dumps(request).encode()
        reply = await client.ask(data)
        assert len(reply) <= len(data)
        code: str = json.loads(reply)["error"]
        return code

    assert await refused(signed_json(rig, "btc", ts=int(NOW) - 31)) == "stale_request"
    once = signed_json(rig, "btc")
    assert (await client.ask_json(once))["status_code"] == 200
    assert await refused(once) == "replayed_request"
    forged = signed_json(rig, "btc")
    forged["asset"] = "eth"
    assert await refused(forged) == "invalid_signature"
    assert await refused(signed_json(rig, "btc") | {"key_id": "ak_live_000000000000"}) == (
        "invalid_signature")
    assert server.counters.refused == 4
    assert len(rig.sink.records) == 1  # refusals are not usage


async def test_invalid_and_revoked_keys(rig: Rig, server: UdpLpoServer,
                                        client: DatagramClient) -> None:
    assert await client.ask_json({"api_key": "tbk_" + "x" * 43, "asset": "btc"}) == {
        "status_code": 401, "error": "invalid_api_key"}
    assert await client.ask_json({"api_key": rig.revoked_key, "asset": "btc"}) == {
        "status_code": 401, "error": "revoked_api_key"}
    padded = json.dumps({"api_key": "tbk_" + "x" * 43, "asset": "btc"}).encode() + b" " * 300
    assert json.loads(await client.ask(padded)) == {  # big enough for the full error body
        "status": "❌ [LPO] [us-east-2] [BeastMain] [/price] [401]", "status_code": 401,
        "endpoint": "/price", "error": "invalid_api_key", "message": "that API key is not valid"}
    client.send(b"bogus|btc")  # even "ERR|invalid_api_key" is longer: no reply at all
    assert await client.ask(f"{rig.key}|btc".encode()) == BTC_LINE
    assert server.counters.dropped_malformed == 1
    assert server.counters.refused == 4 and len(rig.sink.records) == 1


async def test_rate_limited_key(rig: Rig, client: DatagramClient) -> None:
    rig.limiter.refused.add(rig.record.key_id)
    assert await client.ask_json({"api_key": rig.key, "asset": "btc"}) == {
        "status_code": 429, "error": "rate_limited", "retry_after": 0.5}
    assert await client.ask(f"{rig.key}|btc".encode()) == (
        b"ERR|rate_limited|rate limit exceeded|0.5")
    assert await client.ask_json(signed_json(rig, "btc")) == {  # signed: long enough for all
        "status": "❌ [LPO] [us-east-2] [BeastMain] [/price] [429]", "status_code": 429,
        "endpoint": "/price", "error": "rate_limited", "message": "rate limit exceeded",
        "retry_after": 0.5}
    rig.limiter.refused.clear()
    assert await client.ask(f"{rig.key}|btc".encode()) == BTC_LINE


USAGE = b"ERR|bad_request|expected KEY/ASSET[,ASSET...] or KEY_ID/TS/NONCE/ASSET[,ASSET...]/SIG"
GARBAGE: list[tuple[bytes, bytes | None]] = [
    (b"", None),  # every reply is larger than nothing
    (b"\x00", None),
    (b"\xff\xfe\xfd\xfc garbage that is not utf-8 at all", b"ERR|bad_request"),
    (b"{", None),
    (b"{}", None),
    (b"{" + b" " * 100 + b"}", b'{"status_code":400,"error":"missing_parameter"}'),
    (b'{"api_key":"\xff\xfe","asset":"btc","pad":"' + b"p" * 200 + b'"}',
     "{\"status\":\"❌ [LPO] [us-east-2] [BeastMain] [/price] [400]\",\"status_code\":400,"
     "\"endpoint\":\"/price\",\"error\":\"bad_request\",\"message\":\"not a valid request: "
     "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte\"}".encode()),
    (b"[" * 1000, USAGE),
    (b"null padding padding", b"ERR|bad_request"),
    (b"x" * 3000, b"ERR|payload_too_large|a request datagram may hold at most 2048 bytes"),
    (b"|" * 500, USAGE),
    (b"\r\n\t   \r\n", None),
]


@pytest.mark.parametrize("io", ["mmsg", "protocol"])
async def test_garbage_never_disturbs_the_listener(rig: Rig, io: IoMode) -> None:
    server = await rig.server(io, UdpLimits(error_burst=1000))
    client = await rig.client(server)
    valid = f"{rig.key}|btc".encode()
    for garbage, expected in GARBAGE:
        client.send(garbage)
        if expected is not None:
            assert await client.reply() == expected, garbage[:40]
        assert await client.ask(valid) == BTC_LINE, garbage[:40]
    counters = server.counters
    assert counters.received == 2 * len(GARBAGE)
    assert counters.refused == len(GARBAGE) and counters.errors == 0
    assert counters.dropped_malformed == sum(e is None for _, e in GARBAGE)
    many = json.dumps({"api_key": rig.key, "assets": [f"a{i}" for i in range(31)]}).encode()
    assert json.loads(await client.ask(many))["error"] == "too_many_assets"  # admitted: full
    assert rig.sink.records[-1].status == 400


@pytest.mark.parametrize("io", ["mmsg", "protocol"])
async def test_a_garbage_flood_gets_at_most_burst_then_rate_replies(rig: Rig, io: IoMode) -> None:
    clock = FakeClock(100.0)
    guard = ReplyGuard(rate=2.0, burst=3.0, global_rate=1000.0, global_burst=1000.0,
                       clock=clock)
    server = await rig.server(io, guard=guard)
    client = await rig.client(server)
    flood = b"garbage garbage garbage"
    valid = f"{rig.key}|btc".encode()
    for _ in range(20):
        client.send(flood)
    client.send(valid)  # admitted requests are always answered
    assert [await client.reply() for _ in range(4)] == [b"ERR|bad_request"] * 3 + [BTC_LINE]
    clock.now = 101.0  # one second later: two more tokens
    for _ in range(20):
        client.send(flood)
    client.send(valid)
    assert [await client.reply() for _ in range(3)] == [b"ERR|bad_request"] * 2 + [BTC_LINE]
    assert server.counters.answered == 3 + 1 + 2 + 1
    assert server.counters.dropped_amplification == 17 + 18


@pytest.mark.parametrize("io", ["mmsg", "protocol"])
async def test_governor_refuses_misses_beyond_its_slots(rig: Rig, io: IoMode) -> None:
    server = await rig.server(io, UdpLimits(max_concurrent=2))
    client = await rig.client(server)
    await rig.mirror.put_many([quote(a, "1.5", "gemini-ws", at=NOW - 1) for a in ("ETH", "ADA")],
                              240)
    rig.mirror.gate.clear()
    client.send(json.dumps({"api_key": rig.key, "asset": "eth"}).encode())
    client.send(json.dumps({"api_key": rig.key, "assets": ["btc", "ada"]}).encode())
    await eventually(lambda: rig.mirror.waiting == 2)
    busy = await client.ask_json({"api_key": rig.key, "asset": "xrp"})
    assert busy == {"status": "❌ [LPO] [us-east-2] [BeastMain] [/price] [503]",
                    "status_code": 503, "endpoint": "/price", "error": "overloaded",
                    "message": "every UDP work slot is busy; try again", "retry_after": 1.0}
    assert await client.ask(f"{rig.key}|btc".encode()) == BTC_LINE  # hits need no slot
    assert (server.governor.in_flight, server.counters.dropped_governor) == (2, 1)
    rig.mirror.gate.set()
    first, second = json.loads(await client.reply()), json.loads(await client.reply())
    answered = {first.get("asset") or first["prices"][1]["asset"],
                second.get("asset") or second["prices"][1]["asset"]}
    assert answered == {"ETH", "ADA"}
    assert server.governor.in_flight == 0
    assert [r.status for r in rig.sink.records].count(503) == 1


async def test_stop_cancels_work_that_outlives_the_grace(rig: Rig) -> None:
    server = await rig.server("protocol")
    client = await rig.client(server)
    rig.mirror.gate.clear()
    client.send(json.dumps({"api_key": rig.key, "asset": "eth"}).encode())
    await eventually(lambda: rig.mirror.waiting == 1)
    await server.stop(grace=0.01)
    assert server.governor.in_flight == 0 and not server._tasks
    with pytest.raises(RuntimeError, match="not listening"):
        _ = server.port


async def test_a_server_starts_once_and_stops_idempotently(rig: Rig) -> None:
    server = await rig.server("mmsg")
    with pytest.raises(RuntimeError, match="already started"):
        await server.start("127.0.0.1", 0)
    await server.stop()
    await server.stop()
    await server.start("127.0.0.1", 0)  # a stopped server can listen again
    client = await rig.client(server)
    assert await client.ask(f"{rig.key}|btc".encode()) == BTC_LINE


async def test_answers_are_byte_identical_across_io_modes(rig: Rig) -> None:
    replies = []
    for io in ("mmsg", "protocol"):
        server = await rig.server(io)
        client = await rig.client(server)
        replies.append(await client.ask(f"{rig.key}|btc,sol".encode()))
    assert replies[0] == replies[1] == BTC_LINE + b"\n" + SOL_LINE

