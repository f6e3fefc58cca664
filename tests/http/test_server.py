"""The server's HTTP/1.1 behaviour, checked with real clients against a running server."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import parsedate_to_datetime

import aiohttp
import pytest

from tests.http.conftest import Connect, StartServer
from tests.http.handlers import echo
from tests.http.raw import get, post
from trinity_beast.http import HttpServer, Request, Response


async def test_get_answers_json_with_every_standard_header(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo, server_name="beast-test")
    client = await connect(server)
    await client.send(get("/price?asset=btc"))
    response = await client.response()
    assert response.status == 200
    assert response.reason == "OK"
    assert response.header_names == ["Server", "Date", "Content-Type", "Content-Length"]
    assert response.headers["server"] == "beast-test"
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.body)
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT",
                        response.headers["date"])
    assert parsedate_to_datetime(response.headers["date"]).tzname() == "UTC"
    seen = json.loads(response.body)
    assert seen["method"] == "GET"
    assert seen["path"] == "/price"
    assert seen["query"] == {"asset": "btc"}
    assert seen["client_host"] == "127.0.0.1"


async def test_request_fields(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(get("/a%20b/%C3%A9?x=1&x=2&y=%2F+z&empty=", "X-Tag: one",
                          "x-tag: two", "Accept: */*"))
    seen = json.loads((await client.response()).body)
    assert seen["path"] == "/a b/é"
    assert seen["query_string"] == "x=1&x=2&y=%2F+z&empty="
    assert seen["query"] == {"x": "1", "y": "/ z", "empty": ""}
    assert seen["headers"] == {"host": "test", "x-tag": "one, two", "accept": "*/*"}
    assert seen["http_version"] == "1.1"
    assert seen["keep_alive"] is True
    assert seen["body"] == ""


async def test_keep_alive_is_the_default_for_http_1_1(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    for index in range(3):
        await client.send(get(f"/n/{index}"))
        response = await client.response()
        assert "connection" not in response.headers
        assert response.headers["server"] == "trinity-beast"
        assert json.loads(response.body)["path"] == f"/n/{index}"
    assert server.connections_open == 1
    assert server.requests_total == 3


async def test_connection_close_is_honoured(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(get("/", "Connection: close"))
    response = await client.response()
    assert response.status == 200
    assert response.headers["connection"] == "close"
    assert await client.closed_by_server()


async def test_http_1_0_closes_unless_asked_to_keep_alive(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    one_shot = await connect(server)
    await one_shot.send(get("/", version="1.0"))
    response = await one_shot.response()
    assert response.headers["connection"] == "close"
    assert json.loads(response.body)["http_version"] == "1.0"
    assert await one_shot.closed_by_server()

    kept = await connect(server)
    for _ in range(2):
        await kept.send(get("/", "Connection: keep-alive", version="1.0"))
        response = await kept.response()
        assert response.headers["connection"] == "keep-alive"
        assert json.loads(response.body)["keep_alive"] is True


async def test_pipelined_requests_are_answered_in_order(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(b"".join(get(f"/p/{index}") for index in range(10)))
    paths = [json.loads((await client.response()).body)["path"] for _ in range(10)]
    assert paths == [f"/p/{index}" for index in range(10)]


async def test_pipelined_order_holds_when_an_async_handler_is_slower(
        start_server: StartServer, connect: Connect) -> None:
    fast_done = asyncio.Event()

    async def slow(request: Request) -> Response:
        await fast_done.wait()  # finishes only after the later, synchronous request
        return Response.json({"path": request.path})

    def handler(request: Request) -> Response | Awaitable[Response]:
        if request.path.startswith("/slow"):
            return slow(request)
        fast_done.set()
        return Response.json({"path": request.path})

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/slow/1") + get("/fast/2") + get("/slow/3") + get("/fast/4"))
    paths = [json.loads((await client.response()).body)["path"] for _ in range(4)]
    assert paths == ["/slow/1", "/fast/2", "/slow/3", "/fast/4"]


async def test_async_handler_on_its_own(start_server: StartServer, connect: Connect) -> None:
    async def handler(request: Request) -> Response:
        await asyncio.sleep(0)
        return Response.json({"async": True}, status=201, headers=[("X-Kind", "async")])

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/"))
    response = await client.response()
    assert (response.status, response.body) == (201, b'{"async":true}')
    assert response.headers["x-kind"] == "async"


async def test_content_length_body(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(post("/submit", b'{"a": 1}', "Content-Type: application/json"))
    seen = json.loads((await client.response()).body)
    assert (seen["method"], seen["body"]) == ("POST", '{"a": 1}')


async def test_chunked_body_with_extensions_and_trailer(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(
        b"POST /chunks HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: yes\r\n\r\n"
        + get("/after"))
    first = json.loads((await client.response()).body)
    assert first["body"] == "hello world!"
    assert first["headers"]["transfer-encoding"] == "chunked"
    assert json.loads((await client.response()).body)["path"] == "/after"


async def test_body_arriving_in_pieces(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    request = post("/slow-upload", b"0123456789" * 10)
    for start in range(0, len(request), 7):
        await client.send(request[start:start + 7])
    seen = json.loads((await client.response()).body)
    assert seen["body"] == "0123456789" * 10


async def test_expect_100_continue(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(get("/upload", "Content-Length: 5", "Expect: 100-continue",
                          method="PUT"))
    interim = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    await client.send(b"hello")
    seen = json.loads((await client.response()).body)
    assert (seen["method"], seen["body"]) == ("PUT", "hello")


async def test_head_gets_headers_without_body(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(lambda request: Response.json({"hello": "world"}))
    client = await connect(server)
    await client.send(get("/", method="HEAD") + get("/"))
    head = await client.response(head_only=True)
    assert head.headers["content-length"] == str(len(b'{"hello":"world"}'))
    # The next bytes are the second answer: the HEAD answer carried no body.
    full = await client.response()
    assert full.body == b'{"hello":"world"}'


async def test_bodyless_statuses(start_server: StartServer, connect: Connect) -> None:
    def handler(request: Request) -> Response:
        return Response(int(request.path[1:]), b"ignored")

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/204") + get("/304") + get("/200"))
    no_content = await client.response()
    assert no_content.status == 204
    assert "content-length" not in no_content.headers
    assert (await client.response()).status == 304
    assert (await client.response()).body == b"ignored"


async def test_custom_content_type_and_headers(
        start_server: StartServer, connect: Connect) -> None:
    def handler(request: Request) -> Response:
        return Response(200, b"plain", "text/plain; charset=utf-8",
                        [("Access-Control-Allow-Origin", "*"), ("Retry-After", "3")])

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/"))
    response = await client.response()
    assert response.header_names == ["Server", "Date", "Content-Type", "Content-Length",
                                     "Access-Control-Allow-Origin", "Retry-After"]
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.body == b"plain"


async def test_handler_exception_answers_500_and_keeps_the_connection(
        start_server: StartServer, connect: Connect, caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: Request) -> Response:
        if request.path == "/boom":
            raise RuntimeError("secret detail")
        return Response.json({"ok": True})

    server = await start_server(handler)
    client = await connect(server)
    with caplog.at_level(logging.ERROR, logger="trinity_beast.http"):
        await client.send(get("/boom"))
        failed = await client.response()
    assert failed.status == 500
    assert json.loads(failed.body) == {
        "error": "internal_error", "message": "internal server error", "status_code": 500}
    assert b"secret" not in failed.body
    assert "connection" not in failed.headers
    [record] = [r for r in caplog.records if r.exc_info]
    assert isinstance(record.exc_info[1], RuntimeError)  # type: ignore[index]
    await client.send(get("/fine"))
    assert (await client.response()).body == b'{"ok":true}'
    assert (server.requests_total, server.errors_total) == (2, 1)


async def test_async_handler_exception_answers_500(
        start_server: StartServer, connect: Connect) -> None:
    async def handler(request: Request) -> Response:
        raise ValueError("no")

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/") + get("/"))
    assert [(await client.response()).status for _ in range(2)] == [500, 500]


@pytest.mark.parametrize("bad", [
    lambda: {"not": "a response"},
    # Where the server is compiled, a str body is refused as the Response is made: 500 too.
    lambda: Response(200, "text, not bytes"),  # type: ignore[arg-type]
    lambda: Response(200, b"x", headers=[("X-Evil", "a\r\nSet-Cookie: b")]),
    lambda: Response(200, b"x", headers=[("Content-Length", "1")]),
    lambda: Response(99, b"x"),
])
async def test_a_response_that_cannot_be_sent_becomes_500(
        start_server: StartServer, connect: Connect, bad: Callable[[], object]) -> None:
    server = await start_server(lambda request: bad())
    client = await connect(server)
    await client.send(get("/"))
    response = await client.response()
    assert response.status == 500
    assert json.loads(response.body)["error"] == "internal_error"
    assert "set-cookie" not in response.headers
    await client.send(get("/again"))
    assert (await client.response()).status == 500  # still usable


async def test_error_factory_shapes_server_errors(
        start_server: StartServer, connect: Connect) -> None:
    def factory(status: int, code: str, message: str) -> Response:
        return Response.json({"status": f"❌ [{status}]", "error": code}, status=status,
                             headers=[("X-Error", code)])

    def handler(request: Request) -> Response:
        raise RuntimeError("boom")

    server = await start_server(handler, error_factory=factory)
    client = await connect(server)
    await client.send(get("/"))
    failed = await client.response()
    assert json.loads(failed.body) == {"status": "❌ [500]", "error": "internal_error"}
    assert failed.headers["x-error"] == "internal_error"
    await client.send(b"NOT HTTP AT ALL\r\n\r\n")
    malformed = await client.response()
    assert (malformed.status, json.loads(malformed.body)["error"]) == (400, "bad_request")


async def test_aiohttp_client_session(start_server: StartServer) -> None:
    server = await start_server(echo)
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/price", params={"asset": "eth"}) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/json"
            seen = await response.json()
        assert (seen["path"], seen["query"]) == ("/price", {"asset": "eth"})
        async with session.post(f"{base}/batch", json={"assets": ["btc", "eth"]}) as response:
            seen = await response.json()
        assert json.loads(seen["body"]) == {"assets": ["btc", "eth"]}

        async def chunks() -> AsyncIterator[bytes]:
            for part in (b"ab", b"cd", b"ef"):
                yield part

        async with session.put(f"{base}/stream", data=chunks()) as response:
            seen = await response.json()
        assert (seen["body"], seen["headers"]["transfer-encoding"]) == ("abcdef", "chunked")
        async with session.head(f"{base}/") as response:
            assert response.status == 200
            assert await response.read() == b""
    assert server.requests_total == 4
    assert server.errors_total == 0


async def test_aiohttp_reuses_one_keep_alive_connection(start_server: StartServer) -> None:
    opened: set[tuple[str, int] | None] = set()

    def handler(request: Request) -> Response:
        opened.add(request.client)
        return Response.json({"n": len(opened)})

    server = await start_server(handler)
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(5):
            async with session.get(f"http://127.0.0.1:{server.port}/") as response:
                assert await response.json() == {"n": 1}
    assert len(opened) == 1


async def test_date_header_is_shared_and_current(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo)
    client = await connect(server)
    await client.send(get("/") + get("/"))
    first, second = await client.response(), await client.response()
    assert first.headers["date"] == second.headers["date"]
    sent = parsedate_to_datetime(first.headers["date"]).timestamp()
    assert abs(sent - time.time()) < 60  # the clock is right, not a stale constant


async def test_reuse_port_lets_two_servers_share_a_port(start_server: StartServer) -> None:
    first = HttpServer(lambda request: Response.json({"server": 1}))
    await first.start("127.0.0.1", 0, reuse_port=True)
    second = HttpServer(lambda request: Response.json({"server": 2}))
    try:
        await second.start("127.0.0.1", first.port, reuse_port=True)
        assert second.port == first.port
        alone = HttpServer(echo)
        with pytest.raises(OSError, match=r"(?i)in use"):
            await alone.start("127.0.0.1", first.port)
        url = f"http://127.0.0.1:{first.port}/"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert (await response.json())["server"] in (1, 2)
    finally:
        await first.shutdown(grace=1.0)
        await second.shutdown(grace=1.0)


async def test_serves_a_pre_bound_socket(connect: Connect) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = HttpServer(echo)
    await server.start("", 0, sock=sock)
    try:
        assert server.port == sock.getsockname()[1]
        client = await connect(server)
        await client.send(get("/bound"))
        assert json.loads((await client.response()).body)["path"] == "/bound"
    finally:
        await server.shutdown(grace=1.0)


async def test_port_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not listening"):
        _ = HttpServer(echo).port


async def test_a_server_starts_once(start_server: StartServer) -> None:
    server = await start_server(echo)
    with pytest.raises(RuntimeError, match="starts once"):
        await server.start("127.0.0.1", 0)
    await server.shutdown(grace=1.0)
    with pytest.raises(RuntimeError, match="starts once"):
        await server.start("127.0.0.1", 0)


async def test_an_error_factory_that_fails_falls_back_to_the_default(
        start_server: StartServer, connect: Connect) -> None:
    def broken_factory(status: int, code: str, message: str) -> Response:
        raise RuntimeError("factory bug")

    def unsendable_factory(status: int, code: str, message: str) -> Response:
        return Response(status, b"", headers=[("Bad\r\nName", "x")])

    for factory in (broken_factory, unsendable_factory):
        server = await start_server(lambda request: {"not": "a response"},
                                    error_factory=factory)
        client = await connect(server)
        await client.send(get("/"))
        response = await client.response()
        assert response.status == 500
        assert json.loads(response.body) == {
            "error": "internal_error", "message": "internal server error", "status_code": 500}


async def test_continue_waits_behind_an_earlier_pending_answer(
        start_server: StartServer, connect: Connect) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.05)
        return Response.json({"path": request.path})

    def handler(request: Request) -> Response | Awaitable[Response]:
        return slow(request) if request.path == "/slow" else echo(request)

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/slow") + get("/upload", "Content-Length: 2",
                                         "Expect: 100-continue", method="PUT"))
    assert json.loads((await client.response()).body) == {"path": "/slow"}
    interim = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    await client.send(b"ok")
    assert json.loads((await client.response()).body)["body"] == "ok"


async def test_a_half_closed_client_still_gets_its_answer(
        start_server: StartServer, connect: Connect) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.05)
        return Response.json({"path": request.path})

    server = await start_server(slow)
    client = await connect(server)
    await client.send(get("/one") + get("/two"))
    client.writer.write_eof()
    first, second = await client.response(), await client.response()
    assert json.loads(first.body) == {"path": "/one"}
    assert "connection" not in first.headers
    assert (json.loads(second.body), second.headers["connection"]) == (
        {"path": "/two"}, "close")
    assert await client.closed_by_server()


async def test_a_client_leaving_during_an_async_handler_is_harmless(
        start_server: StartServer, connect: Connect, caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()
    finished = asyncio.Event()

    async def handler(request: Request) -> Response:
        await release.wait()
        finished.set()
        return Response.json({})

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/"))
    await client.close()
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.wait_for(finished.wait(), 5)
    for _ in range(250):  # the server notices when its answer cannot be delivered
        if server.connections_open == 0:
            break
        await asyncio.sleep(0.02)
    assert server.connections_open == 0
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_cancellation_inside_a_handler_answers_500(
        start_server: StartServer, connect: Connect) -> None:
    async def handler(request: Request) -> Response:
        raise asyncio.CancelledError

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/") + get("/"))
    assert [(await client.response()).status for _ in range(2)] == [500, 500]


async def test_head_with_an_async_handler(start_server: StartServer, connect: Connect) -> None:
    async def handler(request: Request) -> Response:
        return Response(200, b"abc", "text/plain")

    server = await start_server(handler)
    client = await connect(server)
    await client.send(get("/", method="HEAD") + get("/"))
    assert (await client.response(head_only=True)).headers["content-length"] == "3"
    assert (await client.response()).body == b"abc"
