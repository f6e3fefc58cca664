"""Batched I/O: peer addresses, many peers in one batch, IPv6, and the fallback choice."""

from __future__ import annotations

import socket
import sys

import pytest

from tests.udp.conftest import Rig
from trinity_beast.udp.lpo import IoMode, UdpLpoServer
from trinity_beast.udp.mmsg import _parse_sockaddr, mmsg_supported

BTC_LINE = b"BTC|83421.57|1767225595.800|coinbase-ws"
SOL_LINE = b"SOL|150.25|1767225599.000|okx-ws"


def test_parse_ipv4_and_ipv6_sockaddr() -> None:
    family4 = socket.AF_INET.to_bytes(2, sys.byteorder)
    raw4 = family4 + (40000).to_bytes(2, "big") + socket.inet_aton("10.1.2.3") + bytes(8)
    assert _parse_sockaddr(raw4) == ("10.1.2.3", 40000)
    family6 = socket.AF_INET6.to_bytes(2, sys.byteorder)
    raw6 = (family6 + (2679).to_bytes(2, "big") + (7).to_bytes(4, "big")
            + socket.inet_pton(socket.AF_INET6, "fe80::1") + (3).to_bytes(4, sys.byteorder))
    assert _parse_sockaddr(raw6) == ("fe80::1", 2679, 7, 3)


def test_auto_prefers_batched_io_where_the_platform_has_it(rig: Rig) -> None:
    server = UdpLpoServer(rig.service, rig.envelope)
    assert server.io == ("mmsg" if mmsg_supported() else "protocol")
    assert UdpLpoServer(rig.service, rig.envelope, io="protocol").io == "protocol"


@pytest.mark.parametrize("io", ["mmsg", "protocol"])
async def test_each_peer_of_a_batch_gets_its_own_answers(rig: Rig, io: IoMode) -> None:
    server = await rig.server(io)
    clients = [await rig.client(server) for _ in range(6)]
    for _ in range(20):  # 120 datagrams queued before the server runs: read in batches
        for number, client in enumerate(clients):
            client.send(f"{rig.key}|{'btc' if number % 2 else 'sol'}".encode())
    for number, client in enumerate(clients):
        expected = BTC_LINE if number % 2 else SOL_LINE
        assert [await client.reply() for _ in range(20)] == [expected] * 20
        assert client.replies.empty()
    assert server.counters.received == server.counters.answered == 120


@pytest.mark.parametrize("io", ["mmsg", "protocol"])
async def test_ipv6_round_trip(rig: Rig, io: IoMode) -> None:
    server = await rig.server(io, host="::1")
    client = await rig.client(server, host="::1")
    assert await client.ask(f"{rig.key}|btc".encode()) == BTC_LINE
    client.send(b"garbage garbage garbage")
    assert await client.reply() == b"ERR|bad_request"
