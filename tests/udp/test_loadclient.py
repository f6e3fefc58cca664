"""The benchmark's load client against a running server (small, bounded counts)."""

from __future__ import annotations

import asyncio

import pytest

from tests.udp.conftest import Rig
from trinity_beast.udp.loadclient import run_load, run_load_parallel


async def test_run_load_gets_every_reply(rig: Rig) -> None:
    server = await rig.server("mmsg")
    payloads = [f"{rig.key}|btc".encode(), f"{rig.key}|sol".encode()]
    result = await asyncio.to_thread(run_load, "127.0.0.1", server.port, payloads, count=300,
                                     window=8, timeout=5.0)
    assert (result.sent, result.received, result.lost) == (300, 300, 0)
    assert server.counters.answered == 300
    assert len(rig.sink.records) == 300
    assert result.rate > 0


async def test_run_load_parallel_sums_its_processes(rig: Rig) -> None:
    server = await rig.server("protocol")
    result = await asyncio.to_thread(run_load_parallel, "127.0.0.1", server.port,
                                     [f"{rig.key}|btc".encode()], processes=2, count=50,
                                     timeout=5.0)
    assert (result.sent, result.received, result.lost) == (100, 100, 0)


async def test_unanswered_requests_count_as_lost(rig: Rig) -> None:
    server = await rig.server("protocol")
    result = await asyncio.to_thread(run_load, "127.0.0.1", server.port, [b""], count=5,
                                     window=5, timeout=0.05)
    assert (result.sent, result.received, result.lost) == (5, 0, 5)


@pytest.mark.parametrize("host", ["10.0.0.1", "localhost", "example.org", "::"])
def test_only_loopback_targets(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        run_load(host, 2679, [b"x"], count=1)
