"""The composition root wires keys, limits, UDP and admin: one node, and two nodes on Valkey."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.conftest import REDIS_URL
from tests.test_app import DEMO, get, settings
from trinity_beast.app import Beast
from trinity_beast.limits.leased import LeasedRate
from trinity_beast.replay.recording import DEFAULT_DIR
from trinity_beast.secrets import Secret

ADMIN = "admin-test-key-0123456789"
DEMO_KEY = "demo-public-2026-03-01-abc123"


async def wait_for_price(beast: Beast, asset: str = "BTC") -> None:
    for _ in range(200):
        if beast.book.latest(asset) is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {asset} quote from the replay exchange")


async def udp_ask(port: int, payload: bytes) -> bytes | None:
    """One datagram to the node's UDP LPO; its reply, or None when none came in 2 s."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect(("127.0.0.1", port))
        sock.send(payload)
        try:
            return await asyncio.wait_for(loop.sock_recv(sock, 2048), 2.0)
        except TimeoutError:
            return None


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Beast]:
    s = settings(tmp_path, "APP_REPORT_SERVER").with_(
        lpo_udp_port=0, secrets={"ADMIN_API_KEY": Secret(ADMIN)})
    beast = await Beast.open(s, replay_dir=DEFAULT_DIR)
    await beast.start()
    try:
        await wait_for_price(beast)
        yield beast
    finally:
        await beast.stop()


async def test_demo_key_burst_is_shared_by_http_and_udp(node: Beast) -> None:
    """The demo key's burst is 3: one UDP and two HTTP requests spend it, the next is 429."""
    lpo = f"http://127.0.0.1:{node.servers['lpo'].port}/price?asset=btc"
    reply = await udp_ask(node.udp_servers["lpo"].port,  # type: ignore[attr-defined]
                          json.dumps({"api_key": DEMO_KEY, "asset": "btc"}).encode())
    assert reply is not None
    body = json.loads(reply)
    assert (body["status_code"], body["asset"], body["source"]) == (200, "BTC", "coinbase-ws")
    for _ in range(2):
        status, body = await get(lpo, DEMO)
        assert (status, body["asset"]) == (200, "BTC")
    async with aiohttp.ClientSession() as session, session.get(lpo, headers=DEMO) as r:
        refused = await r.json(content_type=None)
        assert r.status == 429
        assert int(r.headers["Retry-After"]) >= 1
    assert (refused["error"], refused["status_code"]) == ("rate_limited", 429)


async def test_garbage_datagrams_do_not_disturb_the_udp_listener(node: Beast) -> None:
    port = node.udp_servers["lpo"].port  # type: ignore[attr-defined]
    assert await udp_ask(port, b"") is None  # nothing fits an empty datagram's size
    for junk in (b"\xff\xfe\x00garbage", b"{" * 3000, b'{"api_key": 1}'):
        await udp_ask(port, junk)
    reply = await udp_ask(port, f"{DEMO_KEY}|eth".encode())
    assert reply is not None
    assert reply.startswith(b"ETH|")
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{node.servers['lpo'].port}/metrics") as r:
        metrics = await r.text()
    # five datagrams: four refused, of which three too small for any error reply; the oversized
    # one is answered with an error (no larger than itself), the last one with its price
    for counter, value in (("received", 5), ("refused", 4), ("dropped_malformed", 3),
                           ("answered", 2)):
        assert f'beast_udp_{counter}_total{{listener="lpo"}} {value}.0' in metrics
    assert "beast_governor_cap 6000.0" in metrics


async def test_admin_endpoints_on_the_lpo_and_the_lrs(node: Beast) -> None:
    for name in ("lpo", "lrs"):
        base = f"http://127.0.0.1:{node.servers[name].port}"
        async with aiohttp.ClientSession() as session:
            async with session.post(base + "/admin/reload-params",
                                    headers={"X-Admin-Key": ADMIN}) as r:
                body = await r.json(content_type=None)
                assert (r.status, body["reloaded"], body["changed"]) == (200, True, [])
            async with session.get(base + "/admin/cluster-stats",
                                   headers={"X-Admin-Key": "wrong"}) as r:
                body = await r.json(content_type=None)
                assert (r.status, body["error"]) == (403, "invalid_admin_key")
    status, stats = await get(f"http://127.0.0.1:{node.servers['lpo'].port}"
                              "/admin/cluster-stats", {"X-Admin-Key": ADMIN})
    assert (status, stats["source"]) == (200, "local")
    assert stats["totals"]["processes"] == 1  # type: ignore[index]


async def test_openapi_describes_exactly_the_lpo_listener(node: Beast) -> None:
    status, spec = await get(f"http://127.0.0.1:{node.servers['lpo'].port}/openapi.json")
    assert status == 200
    documented = {path: set(ops) for path, ops in spec["paths"].items()}  # type: ignore[attr-defined]
    served = {path: {method.lower() for method in methods}
              for path, methods in node.apps["lpo"].routes.items()}
    assert documented == served


async def test_a_flood_past_the_governor_cap_is_refused_with_503(node: Beast) -> None:
    assert node.governor is not None
    node.params.apply({"adaptive_max_concurrent": "1"})
    node.governor.inflight = 1  # one request of this node is in flight
    status, body = await get(f"http://127.0.0.1:{node.servers['lpo'].port}/price?asset=btc",
                             DEMO)
    assert (status, body["error"]) == (503, "overloaded")
    node.governor.inflight = 0
    status, _ = await get(f"http://127.0.0.1:{node.servers['lpo'].port}/health")
    assert status == 200  # health is not governed


async def test_two_nodes_share_one_bucket_through_valkey(tmp_path: Path,
                                                         redis_available: None) -> None:
    """A free key (burst 5, 1/s) asked alternately on two nodes: the burst is served once,
    not once per node (docs/limits.md: at most burst + rate·Δt + nodes·credit)."""
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    base = settings(tmp_path, "APP_SERVER").with_(lpo_udp_port=0, redis_url=REDIS_URL,
                                                  redis_prefix=prefix)
    first = await Beast.open(base.with_(node="A"), replay_dir=DEFAULT_DIR)
    key, record = await first.stores.keys.create("free")
    await first.keys.refresh_all(first.stores.keys)  # as `beast keys create` announces it
    second = await Beast.open(base.with_(node="B"), replay_dir=DEFAULT_DIR)
    nodes = (first, second)
    try:
        for beast in nodes:
            await beast.start()
            await wait_for_price(beast)
            assert isinstance(beast.limiter.gate, LeasedRate)  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {key}"}
        started = asyncio.get_running_loop().time()
        statuses = []
        for i in range(16):
            beast = nodes[i % 2]
            status, _ = await get(f"http://127.0.0.1:{beast.servers['lpo'].port}"
                                  "/price?asset=btc", headers)
            statuses.append(status)
            await asyncio.sleep(0.02)
        elapsed = asyncio.get_running_loop().time() - started
        admitted = statuses.count(200)
        assert set(statuses) == {200, 429}
        assert 5 <= admitted <= 5 + int(elapsed * record.rate_limit_qps) + 1 + len(nodes)  # type: ignore[operator]
    finally:
        for beast in nodes:
            await beast.stop()
        client = Redis.from_url(REDIS_URL)
        async for name in client.scan_iter(f"{prefix}*"):
            await client.delete(name)
        await client.aclose()
