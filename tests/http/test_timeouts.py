"""Timeouts and back-pressure, with tiny timeouts and generous waits (no speed assertions)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable

from tests.http.conftest import Connect, StartServer
from tests.http.raw import RawClient, get
from trinity_beast.http import HttpLimits, Request, Response

SHORT = 0.3
"""Every timeout under test; the waits in ``tests/http/raw.py`` are many times longer."""


def ok(request: Request) -> Response:
    return Response.json({"path": request.path})


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while not condition():
        assert loop.time() < give_up, "condition not reached"
        await asyncio.sleep(0.02)


async def assert_timed_out(client: RawClient) -> None:
    response = await client.response()
    assert response.status == 408
    assert response.headers["connection"] == "close"
    assert json.loads(response.body)["error"] == "request_timeout"
    assert await client.closed_by_server()


async def test_slow_head_gets_408(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(ok, limits=HttpLimits(read_header_timeout=SHORT))
    client = await connect(server)
    await client.send(b"GET / HTTP/1.1\r\nHost: slow")
    await assert_timed_out(client)
    assert server.errors_total == 1


async def test_trickled_head_gets_408_although_bytes_keep_coming(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(ok, limits=HttpLimits(read_header_timeout=SHORT))
    client = await connect(server)

    async def trickle() -> None:
        with contextlib.suppress(ConnectionError):
            await client.send(b"GET / HTTP/1.1\r\n")
            while True:
                await client.send(b"X-Drip: 1\r\n")
                await asyncio.sleep(0.03)

    dripping = asyncio.create_task(trickle())
    try:
        await assert_timed_out(client)
    finally:
        dripping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dripping


async def test_stalled_body_gets_408(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(ok, limits=HttpLimits(read_timeout=SHORT))
    client = await connect(server)
    await client.send(get("/", "Content-Length: 10", method="POST") + b"12345")
    await assert_timed_out(client)


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(ok, limits=HttpLimits(read_header_timeout=SHORT))
    client = await connect(server)
    assert await client.read_to_end() == b""
    assert server.errors_total == 0


async def test_idle_keep_alive_connection_is_closed(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(ok, limits=HttpLimits(idle_timeout=SHORT))
    client = await connect(server)
    await client.send(get("/"))
    response = await client.response()
    assert "connection" not in response.headers
    assert await client.read_to_end() == b""
    await eventually(lambda: server.connections_open == 0)


async def test_a_connection_within_its_idle_timeout_stays_usable(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(ok, limits=HttpLimits(idle_timeout=60))
    client = await connect(server)
    await client.send(get("/first"))
    await client.response()
    await asyncio.sleep(0.5)
    await client.send(get("/second"))
    assert json.loads((await client.response()).body) == {"path": "/second"}


async def test_slow_handlers_are_not_cut_by_read_or_idle_timeouts(
        start_server: StartServer, connect: Connect) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(4 * SHORT)
        return Response.json({"path": request.path})

    def handler(request: Request) -> Response | Awaitable[Response]:
        return slow(request) if request.path == "/slow" else ok(request)

    limits = HttpLimits(read_header_timeout=SHORT, read_timeout=SHORT, idle_timeout=SHORT)
    server = await start_server(handler, limits=limits)
    client = await connect(server)
    await client.send(get("/slow") + get("/fast") + get("/slow"))
    paths = [json.loads((await client.response()).body)["path"] for _ in range(3)]
    assert paths == ["/slow", "/fast", "/slow"]


async def test_a_client_that_does_not_read_is_aborted(start_server: StartServer) -> None:
    huge = b"x" * (32 * 1024 * 1024)
    server = await start_server(lambda request: Response(200, huge, "application/octet-stream"),
                                limits=HttpLimits(write_timeout=SHORT))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(get("/"))
    try:
        await eventually(lambda: server.connections_open == 0)
    finally:
        sock.close()


async def test_reading_pauses_while_too_many_answers_wait(
        start_server: StartServer, connect: Connect) -> None:
    release = asyncio.Event()
    called: list[str] = []

    async def blocked(request: Request) -> Response:
        await release.wait()
        return Response.json({"path": request.path})

    def handler(request: Request) -> Awaitable[Response]:
        called.append(request.path)
        return blocked(request)

    server = await start_server(handler, limits=HttpLimits(max_pipelined=2))
    client = await connect(server)
    await client.send(get("/1") + get("/2"))
    await eventually(lambda: len(called) == 2)
    await client.send(get("/3"))
    await asyncio.sleep(0.3)
    assert called == ["/1", "/2"]  # the third request waits in the socket, unread
    release.set()
    paths = [json.loads((await client.response()).body)["path"] for _ in range(3)]
    assert paths == ["/1", "/2", "/3"]
    assert called == ["/1", "/2", "/3"]
