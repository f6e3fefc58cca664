"""Graceful shutdown: in-flight requests finish, idle connections close, new ones are refused."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable

import pytest

from tests.http.raw import RawClient, get
from trinity_beast.http import HttpServer, Request, Response


class Gate:
    """A handler whose ``/wait`` requests block until :meth:`open`; the rest answer at once."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.released = asyncio.Event()
        self.cancelled = False

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        if request.path == "/wait":
            return self._wait(request)
        return Response.json({"path": request.path})

    async def _wait(self, request: Request) -> Response:
        self.entered.set()
        try:
            await self.released.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return Response.json({"path": request.path, "finished": True})


@pytest.fixture
async def gate_server() -> AsyncIterator[tuple[HttpServer, Gate]]:
    gate = Gate()
    server = HttpServer(gate)
    await server.start("127.0.0.1", 0)
    yield server, gate
    await server.shutdown(grace=0.5)


async def connect_refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def test_in_flight_request_finishes_and_idle_connections_close(
        gate_server: tuple[HttpServer, Gate]) -> None:
    server, gate = gate_server
    port = server.port
    busy = await RawClient.connect(port)
    idle = await RawClient.connect(port)
    await idle.send(get("/warm"))
    assert (await idle.response()).status == 200
    await busy.send(get("/wait"))
    await asyncio.wait_for(gate.entered.wait(), 5)

    stopping = asyncio.create_task(server.shutdown(grace=10.0))
    assert await idle.closed_by_server()  # closed at once, without an answer
    assert await connect_refused(port)
    assert not stopping.done()

    gate.released.set()
    response = await busy.response()
    assert json.loads(response.body) == {"path": "/wait", "finished": True}
    assert response.headers["connection"] == "close"
    assert await busy.closed_by_server()
    await asyncio.wait_for(stopping, 5)
    assert server.connections_open == 0
    assert not gate.cancelled
    await busy.close()
    await idle.close()


async def test_pipelined_answers_queued_behind_the_in_flight_one_are_sent(
        gate_server: tuple[HttpServer, Gate]) -> None:
    server, gate = gate_server
    client = await RawClient.connect(server.port)
    await client.send(get("/wait") + get("/queued"))
    await asyncio.wait_for(gate.entered.wait(), 5)
    stopping = asyncio.create_task(server.shutdown(grace=10.0))
    await asyncio.sleep(0)
    gate.released.set()
    first, second = await client.response(), await client.response()
    assert json.loads(first.body)["path"] == "/wait"
    assert "connection" not in first.headers
    assert (json.loads(second.body)["path"], second.headers["connection"]) == (
        "/queued", "close")
    assert await client.closed_by_server()
    await asyncio.wait_for(stopping, 5)
    await client.close()


async def test_a_request_being_read_may_finish(gate_server: tuple[HttpServer, Gate]) -> None:
    server, _ = gate_server
    client = await RawClient.connect(server.port)
    await client.send(b"POST /upload HTTP/1.1\r\nContent-Length: 4\r\n\r\nab")
    await asyncio.sleep(0.5)  # let the server read the first part
    stopping = asyncio.create_task(server.shutdown(grace=10.0))
    await asyncio.sleep(0.1)
    await client.send(b"cd" + get("/too-late"))
    response = await client.response()
    assert (json.loads(response.body)["path"], response.headers["connection"]) == (
        "/upload", "close")
    assert await client.closed_by_server()
    await asyncio.wait_for(stopping, 5)
    assert server.requests_total == 1
    await client.close()


async def test_grace_expiry_aborts_and_cancels_the_handler(
        gate_server: tuple[HttpServer, Gate]) -> None:
    server, gate = gate_server
    client = await RawClient.connect(server.port)
    await client.send(get("/wait"))
    await asyncio.wait_for(gate.entered.wait(), 5)
    await asyncio.wait_for(server.shutdown(grace=0.2), 5)
    assert gate.cancelled
    assert server.connections_open == 0
    with contextlib.suppress(ConnectionResetError):
        assert await client.read_to_end() == b""
    await client.close()


async def test_shutdown_without_connections_and_twice(
        gate_server: tuple[HttpServer, Gate]) -> None:
    server, _ = gate_server
    port = server.port
    await asyncio.wait_for(server.shutdown(), 5)
    await server.shutdown()
    assert await connect_refused(port)
