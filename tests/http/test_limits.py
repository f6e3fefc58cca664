"""Size limits and malformed input: the answer, then the connection closes."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.http.conftest import Connect, StartServer
from tests.http.raw import RawClient, get, post
from trinity_beast.http import HttpLimits, Request, Response
from trinity_beast.params.values import Parameters

SMALL = HttpLimits(max_header_bytes=1024, max_body_bytes=2048)


def echo_body(request: Request) -> Response:
    return Response.json({"size": len(request.body)})


async def assert_refused(client: RawClient, status: int, code: str) -> None:
    response = await client.response()
    assert response.status == status
    assert response.headers["connection"] == "close"
    body = json.loads(response.body)
    assert (body["error"], body["status_code"]) == (code, status)
    assert await client.closed_by_server()


def test_defaults_match_the_parameters() -> None:
    assert HttpLimits.from_parameters(Parameters()) == HttpLimits()
    custom = HttpLimits.from_parameters(Parameters({
        "http_max_header_bytes": "2048", "http_max_body_bytes": "4096",
        "http_read_header_timeout_seconds": "2", "http_read_timeout_seconds": "3",
        "http_write_timeout_seconds": "4", "http_idle_timeout_seconds": "60",
    }), max_pipelined=8)
    assert custom == HttpLimits(2048, 4096, 2.0, 3.0, 4.0, 60.0, 8)


@pytest.mark.parametrize("field", ["max_header_bytes", "max_body_bytes", "max_pipelined",
                                   "read_header_timeout", "read_timeout", "write_timeout",
                                   "idle_timeout"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        HttpLimits(**{field: 0})


async def test_head_over_the_limit_in_one_piece(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    await client.send(get("/", "X-Big: " + "a" * 2000))
    await assert_refused(client, 431, "header_too_large")
    assert server.errors_total == 1


async def test_many_headers_over_the_limit(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    await client.send(get("/", *(f"X-H{index}: value" for index in range(100))))
    await assert_refused(client, 431, "header_too_large")


async def test_long_url_over_the_limit(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    await client.send(get("/" + "u" * 2000))
    await assert_refused(client, 431, "header_too_large")


async def test_head_over_the_limit_sent_in_pieces_without_line_breaks(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    await client.send(b"GET / HTTP/1.1\r\nX-Endless: ")
    for _ in range(5):  # never finishes the header line
        await client.send(b"b" * 300)
        await asyncio.sleep(0.01)  # separate reads on the server side
    await assert_refused(client, 431, "header_too_large")


async def test_head_just_under_the_limit_is_accepted_even_in_pieces(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    request = get("/", "X-Pad: " + "p" * 900)
    assert len(request) < 1024
    for start in range(0, len(request), 100):
        await client.send(request[start:start + 100])
        await asyncio.sleep(0.005)
    assert (await client.response()).status == 200


async def test_declared_body_over_the_limit_is_refused_before_it_is_sent(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    await client.send(get("/", "Content-Length: 100000", method="POST"))
    await assert_refused(client, 413, "payload_too_large")


async def test_expect_continue_with_a_body_over_the_limit_gets_413_not_100(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    await client.send(get("/", "Content-Length: 100000", "Expect: 100-continue",
                          method="POST"))
    await assert_refused(client, 413, "payload_too_large")


async def test_chunked_body_over_the_limit(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    await client.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(3):
        await client.send(b"400\r\n" + b"c" * 0x400 + b"\r\n")
    await assert_refused(client, 413, "payload_too_large")


async def test_body_exactly_at_the_limit_is_accepted(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body, limits=SMALL)
    client = await connect(server)
    await client.send(post("/", b"x" * 2048))
    assert json.loads((await client.response()).body) == {"size": 2048}


async def test_aiohttp_sees_413_for_an_oversized_upload(start_server: StartServer) -> None:
    server = await start_server(echo_body, limits=SMALL)
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{server.port}/"
        async with session.post(url, data=b"z" * 300_000) as response:
            assert response.status == 413
            assert (await response.json())["error"] == "payload_too_large"


@pytest.mark.parametrize("request_bytes", [
    b"NOT HTTP AT ALL\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    b"GET / HTTP/1.1\r\nX : space-before-colon\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /\x00 HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\nHost: bare-newlines\n\n",
])
async def test_malformed_requests_get_400(
        start_server: StartServer, connect: Connect, request_bytes: bytes) -> None:
    server = await start_server(echo_body)
    client = await connect(server)
    await client.send(request_bytes)
    await assert_refused(client, 400, "bad_request")


async def test_malformed_request_after_good_ones_is_answered_in_order(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body)
    client = await connect(server)
    await client.send(get("/1") + get("/2") + b"BROKEN\r\n\r\n" + get("/never"))
    assert [(await client.response()).status for _ in range(2)] == [200, 200]
    await assert_refused(client, 400, "bad_request")
    assert server.requests_total == 2


@pytest.mark.parametrize("version", ["2.0", "0.9"])
async def test_other_http_versions_get_505(
        start_server: StartServer, connect: Connect, version: str) -> None:
    server = await start_server(echo_body)
    client = await connect(server)
    await client.send(get("/", "Connection: keep-alive", version=version))
    await assert_refused(client, 505, "http_version_not_supported")


async def test_http2_prior_knowledge_preface_is_refused(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body)
    client = await connect(server)
    await client.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    await assert_refused(client, 400, "bad_request")


async def test_requests_after_connection_close_are_ignored(
        start_server: StartServer, connect: Connect) -> None:
    server = await start_server(echo_body)
    client = await connect(server)
    await client.send(get("/", "Connection: close") + get("/ignored"))
    assert (await client.response()).status == 200
    assert await client.closed_by_server()
    assert server.requests_total == 1
