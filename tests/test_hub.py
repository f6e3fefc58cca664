"""The feed hub of ``--workers N``: its wire protocol in process, and real worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.prices.helpers import quote
from tests.redis_process import free_port
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.hub import Hub, follow_hub
from trinity_beast.prices.book import PriceBook

DEMO = {"Authorization": "Bearer demo-public-2026-03-01-abc123"}


async def test_quotes_and_statuses_reach_a_worker_book() -> None:
    hub_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    status = FeedStatus("okx", connected=True, last_data_at=123.5, frames=7,
                        subscribed=frozenset({"KAS"}))
    hub = Hub({"okx": status})
    await hub.attach(hub_end)
    fanout = hub.book()
    reader, writer = await asyncio.open_unix_connection(sock=worker_end)
    worker_book = PriceBook()
    worker_status = {"okx": FeedStatus("okx")}
    following = asyncio.ensure_future(follow_hub(reader, worker_book, worker_status))
    fanout.update(quote("KAS", "0.0870850", "okx-ws", at=1.0))
    fanout.update(quote("TIA", "5.5", "okx-ws", at=2.0))
    status_task = asyncio.ensure_future(hub.run_status())
    for _ in range(100):
        if worker_book.latest("TIA") is not None and worker_status["okx"].frames == 7:
            break
        await asyncio.sleep(0.01)
    assert worker_book.latest("KAS") == fanout.latest("KAS")
    assert worker_book.latest("TIA").price == "5.5"  # type: ignore[union-attr]
    assert hub.sent_batches >= 2  # two updates in one loop turn: one quote batch + statuses
    copied = worker_status["okx"]
    assert (copied.connected, copied.last_data_at, copied.subscribed) == (
        True, 123.5, frozenset({"KAS"}))
    status_task.cancel()
    await hub.close()
    await asyncio.wait_for(following, 5)  # the worker side ends when the hub goes away
    writer.close()


async def _health(port: int) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{port}/health") as response:
        return await response.json()  # type: ignore[no-any-return]


def node_env(tmp_path: Path) -> dict[str, str]:
    """A node of its own: state under ``tmp_path``, every listener on a free loopback port."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    return {**env, "BEAST_VAR_DIR": str(tmp_path), "BEAST_HOST": "127.0.0.1",
            "UDP_PORT_LPO": str(free_port()), "TCP_PORT_LRS": str(free_port()),
            "UDP_PORT_LRS": str(free_port())}


def serve_two_workers(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "trinity_beast", "serve", "--replay", "--workers", "2",
         "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def worker_pids(port: int, count: int) -> set[int]:
    """The pids behind ``/health`` once ``count`` different ones have answered (60 s at most)."""
    pids: set[int] = set()
    deadline = time.monotonic() + 60
    while len(pids) < count and time.monotonic() < deadline:
        try:
            pids.add(int((await _health(port))["pid"]))  # type: ignore[call-overload]
        except (aiohttp.ClientError, OSError):
            await asyncio.sleep(0.2)
    assert len(pids) == count
    return pids


async def priced(port: int, asset: str) -> None:
    """Wait (60 s at most) until the node serves ``asset`` from its feeds (the demo key)."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"http://127.0.0.1:{port}/price?asset={asset}",
                                   headers=DEMO) as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.4)  # the demo key's 3 requests a second
    raise AssertionError(f"{asset} was not priced within 60 s")


async def test_two_workers_share_the_port_and_a_dead_worker_is_restarted(tmp_path: Path) -> None:
    port = free_port()
    env = node_env(tmp_path)
    proc = serve_two_workers(port, env)
    try:
        pids = await worker_pids(port, 2)
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # the hub fills every worker's book
                async with session.get(f"http://127.0.0.1:{port}/price?asset=kas",
                                       headers=DEMO) as response:
                    body = await response.json()
                if response.status == 200 and body["source"] == "okx-ws":
                    break
                await asyncio.sleep(0.1)
            assert (response.status, body["source"], body["cache_tier"]) == (
                200, "okx-ws", "L1_MEMORY")
        victim = pids.pop()
        os.kill(victim, signal.SIGKILL)
        fresh: set[int] = set()
        deadline = time.monotonic() + 60
        while not (fresh - pids - {victim}) and time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                fresh.add(int((await _health(port))["pid"]))  # type: ignore[call-overload]
            await asyncio.sleep(0.1)
        assert fresh - pids - {victim}, "the killed worker was not replaced"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]


async def test_workers_without_valkey_share_one_bucket_per_key(tmp_path: Path) -> None:
    """A free key (burst 5, 1/s) asked on fresh connections, which the kernel spreads over two
    workers: they lease from the hub's authority, so the burst is served once in total, not
    once per worker (docs/limits.md: at most burst + rate·Δt + workers·credit)."""
    env = node_env(tmp_path)
    created = subprocess.run(  # noqa: ASYNC221 - before the server starts; nothing else waits
        [sys.executable, "-m", "trinity_beast", "keys", "create", "--tier", "free"],
        env=env, capture_output=True, text=True, check=True)
    headers = {"Authorization": f"Bearer {created.stdout.strip()}"}
    port = free_port()
    proc = serve_two_workers(port, env)
    try:
        await worker_pids(port, 2)
        await priced(port, "btc")  # the start-up replay burst is over: the hub answers leases
        statuses: list[int] = []
        started = time.monotonic()
        for _ in range(30):  # 10 ms apart: a lease round trip fits between two requests
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                    force_close=True)) as session, session.get(
                    f"http://127.0.0.1:{port}/price?asset=btc", headers=headers) as response:
                statuses.append(response.status)
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
    admitted = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    assert 5 <= admitted <= 5 + int(elapsed) + 1 + 2, (statuses, elapsed)
