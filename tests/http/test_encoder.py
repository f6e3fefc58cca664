from __future__ import annotations

import pytest

from trinity_beast.http.date import Clock
from trinity_beast.http.encoder import CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, ResponseEncoder
from trinity_beast.http.response import Response, default_error_factory

DATE = b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"


@pytest.fixture
def encoder() -> ResponseEncoder:
    clock = Clock()
    clock.date_line = DATE
    return ResponseEncoder("beast", clock)


def test_small_json_answer(encoder: ResponseEncoder) -> None:
    assert encoder.encode(Response.json({"price": "1.5"}), b"", head_only=False) == (
        b"HTTP/1.1 200 OK\r\nServer: beast\r\n" + DATE
        + b"Content-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"price\":\"1.5\"}")


def test_connection_lines_and_extra_headers(encoder: ResponseEncoder) -> None:
    response = Response(429, b"{}", headers=[("Retry-After", "2"), ("X-Id", "é")])
    assert encoder.encode(response, CONNECTION_CLOSE, head_only=False) == (
        b"HTTP/1.1 429 Too Many Requests\r\nServer: beast\r\n" + DATE
        + b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n"
        b"Retry-After: 2\r\nX-Id: \xe9\r\n\r\n{}")
    assert CONNECTION_KEEP_ALIVE in encoder.encode(response, CONNECTION_KEEP_ALIVE, False)


def test_head_keeps_the_length_and_drops_the_body(encoder: ResponseEncoder) -> None:
    encoded = encoder.encode(Response(200, b"12345", "text/plain"), b"", head_only=True)
    assert encoded.endswith(b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\n")


@pytest.mark.parametrize("status", [204, 304])
def test_bodyless_statuses(encoder: ResponseEncoder, status: int) -> None:
    encoded = encoder.encode(Response(status, b"dropped"), b"", head_only=False)
    assert encoded.endswith(DATE + b"\r\n")
    assert b"Content-Length" not in encoded


def test_unregistered_status_has_an_empty_reason(encoder: ResponseEncoder) -> None:
    assert encoder.encode(Response(299), b"", False).startswith(b"HTTP/1.1 299 \r\n")


@pytest.mark.parametrize("response", [
    Response(100),
    Response(600),
    Response(True),
    Response(200, headers=[("X-A", "line\r\nbreak")]),
    Response(200, headers=[("Bad Name", "v")]),
    Response(200, headers=[("", "v")]),
    Response(200, headers=[("content-length", "5")]),
    Response(200, headers=[("Connection", "keep-alive")]),
    Response(200, content_type="text/plain\r\nX-Injected: 1"),
    Response(200, headers=[("X-Name", "€ not latin-1")]),
])
def test_responses_that_cannot_be_sent_raise(encoder: ResponseEncoder,
                                             response: Response) -> None:
    with pytest.raises((ValueError, UnicodeEncodeError)):
        encoder.encode(response, b"", head_only=False)


def test_server_name_is_checked() -> None:
    with pytest.raises(ValueError, match="line break"):
        ResponseEncoder("evil\r\nX: 1", Clock())


def test_response_defaults_and_json_helper() -> None:
    response = Response(200)
    assert (response.body, response.content_type, response.headers) == (
        b"", "application/json", [])
    assert Response(200).headers is not response.headers
    made = Response.json([1, "two"], status=201, headers=[("X", "y")])
    assert (made.status, made.body, made.headers) == (201, b'[1,"two"]', [("X", "y")])


def test_default_error_factory() -> None:
    response = default_error_factory(413, "payload_too_large", "too big")
    assert response.status == 413
    assert response.body == (
        b'{"error":"payload_too_large","message":"too big","status_code":413}')
