"""The lease authority served over a Unix socket (workers of one host without Valkey)."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.limits.conftest import FakeClock
from tests.limits.test_lease_valkey import requests
from trinity_beast.limits.bucket import RateLimits
from trinity_beast.limits.lease import AuthorityUnavailable, LocalAuthority
from trinity_beast.limits.lease_unix import UnixAuthority, serve_authority
from trinity_beast.limits.leased import LeasedRate

FREE = RateLimits(rate=1.0, burst=5, min_wait=1.0)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def is_down(worker: LeasedRate) -> bool:
    return worker.down


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    return tmp_path / "lease.sock"


@pytest.fixture
async def served(socket_path: Path, clock: FakeClock) -> AsyncIterator[LocalAuthority]:
    authority = LocalAuthority(clock=clock)
    server = await serve_authority(socket_path, authority)
    yield authority
    server.close()
    await server.wait_closed()


async def test_grants_over_the_socket_equal_the_local_ones(
        served: LocalAuthority, socket_path: Path) -> None:
    client = UnixAuthority(socket_path)
    try:
        remote = await client.lease(requests())
    finally:
        await client.aclose()
    direct = await LocalAuthority(clock=FakeClock()).lease(requests())
    assert remote == direct
    assert [g.granted for g in remote] == [5, 0, 0, 2, 0, 0, 0, 0, 2]
    assert mode_of(socket_path) == 0o600


async def test_workers_of_one_host_share_the_parent_authority(
        served: LocalAuthority, socket_path: Path, clock: FakeClock) -> None:
    clients = [UnixAuthority(socket_path) for _ in range(2)]
    first, second = (LeasedRate(c, f"w{i}", clock=clock) for i, c in enumerate(clients))
    try:
        assert first.take("ak_k", FREE, clock.now) is None
        await first.step()
        assert [first.take("ak_k", FREE, clock.now) is None for _ in range(5)] == \
            [True] * 4 + [False]
        # The second worker's first request is admitted on credit and charged: the bucket owes
        # a token, so the next one comes in two seconds (plus the lease round trip).
        assert second.take("ak_k", FREE, clock.now) is None
        await second.step()
        assert second.take("ak_k", FREE, clock.now) == pytest.approx(2.0, abs=0.01)
    finally:
        for c in clients:
            await c.aclose()


async def test_a_bad_frame_drops_only_that_connection(
        served: LocalAuthority, socket_path: Path) -> None:
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(b"\x00\x00\x00\x03abc")
    await writer.drain()
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()
    client = UnixAuthority(socket_path)
    try:
        assert len(await client.lease(requests()[:1])) == 1
    finally:
        await client.aclose()


async def test_a_worker_falls_back_while_the_authority_is_away(
        socket_path: Path, clock: FakeClock) -> None:
    client = UnixAuthority(socket_path)
    worker = LeasedRate(client, "w1", clock=clock, down_retry=1.0)
    assert worker.take("ak_k", FREE, clock.now) is None
    await worker.step()
    assert is_down(worker)
    # Per-worker exact bucket meanwhile: the rest of the burst, then one per second.
    assert [worker.take("ak_k", FREE, clock.now) is None for _ in range(6)] == \
        [True] * 5 + [False]
    server = await serve_authority(socket_path, LocalAuthority(clock=clock))
    try:
        assert await worker.step() == 1.0  # not yet: retries are down_retry apart
        clock.advance(1.0)
        assert await worker.step() == 0.0
        assert not is_down(worker)
        assert worker.take("ak_k", FREE, clock.now) is None
        await worker.step()
        assert worker.held("ak_k") == 4
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_no_server_is_unavailable(socket_path: Path) -> None:
    client = UnixAuthority(socket_path)
    with pytest.raises(AuthorityUnavailable):
        await client.lease(requests()[:1])
