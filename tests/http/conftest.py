"""Every HTTP test runs on uvloop (production) and on the standard asyncio loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest
import uvloop

from tests.http.raw import RawClient
from trinity_beast.http import Handler, HttpServer


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Any]:
    return {"uvloop": uvloop.new_event_loop, "asyncio": asyncio.new_event_loop}


StartServer = Callable[..., Awaitable[HttpServer]]
Connect = Callable[[HttpServer], Awaitable[RawClient]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """``await start_server(handler, **HttpServer kwargs)``: a server on 127.0.0.1, port 0."""
    servers: list[HttpServer] = []

    async def start(handler: Handler, **kwargs: Any) -> HttpServer:
        server = HttpServer(handler, **kwargs)
        await server.start("127.0.0.1", 0)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.shutdown(grace=1.0)


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """``await connect(server)``: a raw connection, closed after the test."""
    clients: list[RawClient] = []

    async def open_client(server: HttpServer) -> RawClient:
        client = await RawClient.connect(server.port)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.close()
