"""Upgrade requests (WebSocket, h2c, CONNECT) are answered as ordinary requests."""

from __future__ import annotations

import json

from tests.http.conftest import Connect, StartServer
from tests.http.handlers import echo
from tests.http.raw import get, post
from trinity_beast.http import HttpLimits, Response


async def test_an_upgrade_request_is_answered_as_a_normal_request(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(get("/ws", "Connection: Upgrade", "Upgrade: websocket",
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                          "Sec-WebSocket-Version: 13") + get("/next"))
    upgrade = await client.response()
    assert upgrade.status == 200
    assert json.loads(upgrade.body)["headers"]["upgrade"] == "websocket"
    assert json.loads((await client.response()).body)["path"] == "/next"


async def test_an_upgrade_request_with_a_body_gets_its_body(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(post("/h2c", b"hello", "Connection: Upgrade, HTTP2-Settings",
                           "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"))
    response = await client.response()
    assert json.loads(response.body)["body"] == "hello"
    assert response.headers["connection"] == "close"
    assert await client.closed_by_server()


async def test_an_upgrade_request_with_a_chunked_body(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(b"POST /up HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\n"
                      b"Upgrade: something\r\nTransfer-Encoding: chunked\r\n\r\n")
    await client.send(b"3\r\nabc\r\n")
    await client.send(b"0\r\n\r\n" + get("/not-parsed"))
    response = await client.response()
    assert json.loads(response.body)["body"] == "abc"
    assert response.headers["connection"] == "close"
    assert await client.closed_by_server()
    assert server.requests_total == 1


async def test_an_upgrade_request_body_is_limited_too(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo, limits=HttpLimits(max_body_bytes=4))
    client = await connect(server)
    await client.send(b"POST /up HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: x\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n")
    response = await client.response()
    assert (response.status, response.headers["connection"]) == (413, "close")


async def test_many_pipelined_upgrade_requests(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(lambda request: Response.json({"path": request.path}))
    client = await connect(server)
    upgrade = ("Connection: Upgrade", "Upgrade: websocket")
    await client.send(b"".join(get(f"/u/{index}", *upgrade) for index in range(2000)))
    for index in range(2000):
        assert json.loads((await client.response()).body) == {"path": f"/u/{index}"}


async def test_connect_is_answered_and_parsing_goes_on(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
                      + get("/after"))
    seen = json.loads((await client.response()).body)
    assert (seen["method"], seen["path"]) == ("CONNECT", "example.com:443")
    assert json.loads((await client.response()).body)["path"] == "/after"
