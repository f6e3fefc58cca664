"""Bytes to :class:`Request`: the httptools callbacks and the checks made while reading.

:class:`RequestReader` is the reading half of :class:`HttpConnection`; it is a base class
rather than a separate object so that httptools calls one object's methods on the hot path.
What to do with a complete request (``on_message_complete``) and how to answer are the
connection's.
"""

from __future__ import annotations

import abc
import logging

from httptools import HttpParserCallbackError, HttpParserError, HttpParserUpgrade, HttpRequestParser

from trinity_beast.http.encoder import CONTINUE
from trinity_beast.http.names import (
    HEADER_NAMES,
    METHOD_NAMES,
    learn_header_name,
    learn_method_name,
)
from trinity_beast.http.request import Request, split_target
from trinity_beast.http.state import ServerState
from trinity_beast.http.upgrade import BodyAfterUpgrade, StopParsing

log = logging.getLogger(__name__)

INF = float("inf")

# Where the request being read is.
IDLE, HEAD, BODY = 0, 1, 2


class RequestReader(abc.ABC):
    """Parses requests off one connection and enforces the head and body limits."""

    def __init__(self, state: ServerState) -> None:
        self._clock = state.clock
        self._max_head = state.limits.max_header_bytes
        self._max_body = state.limits.max_body_bytes
        self._head_span = state.head_span
        self._body_span = state.body_span
        self._parser = HttpRequestParser(self)
        self._client: tuple[str, int] | None = None
        self._phase = IDLE
        self._deadline = INF
        self._draining = False  # server shutdown: start no new request
        self._stopped = False  # read no further request; close after the last answer
        self._rejection: tuple[int, str, str] | None = None
        self._body_after_upgrade = False
        # The request being read.
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: bytes | bytearray = b""
        self._head_raw = 0
        self._chunk_size = 0
        self._request: Request

    def data_received(self, data: bytes) -> None:
        if self._stopped:
            return
        self._chunk_size = len(data)
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            self._continue_after_upgrade(data[upgrade.args[0]:])
        except HttpParserError as exc:
            self._parser_failed(exc)
        if self._phase == HEAD:
            self._check_head_progress(len(data))
        self._flush()

    # --- what the connection provides --------------------------------------------------------

    @abc.abstractmethod
    def on_message_complete(self) -> None:
        """httptools: the request in ``_request`` is complete; answer it."""

    @abc.abstractmethod
    def _interim(self, data: bytes) -> None:
        """Send an interim answer (``100 Continue``) in its place among the answers."""

    @abc.abstractmethod
    def _reject(self, status: int, code: str, message: str) -> None:
        """Answer an error in the input and stop reading."""

    @abc.abstractmethod
    def _flush(self) -> None:
        """Write what the last callbacks produced."""

    # --- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._draining:
            raise StopParsing
        self._phase = HEAD
        self._url = b""
        self._headers = {}
        self._head_raw = -1
        self._deadline = self._clock.now + self._head_span

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        try:
            key = HEADER_NAMES[name]
        except KeyError:
            key = learn_header_name(name)
        headers = self._headers
        if key in headers:
            headers[key] = f"{headers[key]}, {value.decode('latin-1')}"
        else:
            headers[key] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        parser = self._parser
        self._phase = BODY
        self._deadline = self._clock.now + self._body_span
        headers = self._headers
        if self._head_raw >= 0 or self._chunk_size > self._max_head:
            self._check_head_size(headers)  # the head may be larger than the limit
        keep_alive = parser.should_keep_alive()
        if keep_alive and "connection" not in headers and "proxy-connection" not in headers:
            # llhttp keeps such a request alive only for HTTP/1.1 (minor version > 0), so
            # the costly get_http_version() is not needed on the common path.
            version = "1.1"
        else:
            version = parser.get_http_version()
            if version != "1.1" and version != "1.0":
                self._reject_in_parser(505, "http_version_not_supported",
                                       f"HTTP/{version} is not supported")
        raw_method = parser.get_method()
        try:
            method = METHOD_NAMES[raw_method]
        except KeyError:
            method = learn_method_name(raw_method)
        path, query = split_target(self._url)
        self._request = Request(method, path, query, headers, b"", self._client, version,
                                keep_alive)
        if ("content-length" in headers or "expect" in headers or "upgrade" in headers
                or method == "CONNECT"):
            self._inspect_head(headers)

    def on_body(self, body: bytes) -> None:
        received = self._body
        if received:
            if type(received) is bytes:
                received = self._body = bytearray(received)
            received += body
        else:
            received = self._body = body
        if len(received) > self._max_body:
            self._reject_in_parser(413, "payload_too_large", self._body_too_large())

    def finish_upgrade_body(self) -> None:
        """The body of an upgrade request has been read (see :class:`BodyAfterUpgrade`)."""
        self._body_after_upgrade = False
        self._request.keep_alive = False
        self.on_message_complete()

    def _inspect_head(self, headers: dict[str, str]) -> None:
        """Act on the headers that need more than storing (after the common-case test)."""
        length = headers.get("content-length")
        if length is not None and int(length) > self._max_body:
            self._reject_in_parser(413, "payload_too_large", self._body_too_large())
        if "expect" in headers:
            self._expectation(headers["expect"])
        if self._parser.should_upgrade():  # an Upgrade request, or CONNECT
            self._body_after_upgrade = "transfer-encoding" in headers or bool(
                length and int(length))

    # --- reading ----------------------------------------------------------------------------

    def _continue_after_upgrade(self, rest: bytes) -> None:
        """Go on parsing after an upgrade request's head: we never switch protocols.

        The request itself has been answered like any other by now.
        """
        while True:
            if self._body_after_upgrade:
                self._read_body_after_upgrade()
            if not rest or self._stopped:
                return
            try:
                self._parser.feed_data(rest)
            except HttpParserUpgrade as upgrade:
                rest = rest[upgrade.args[0]:]
            except HttpParserError as exc:
                self._parser_failed(exc)
                return
            else:
                return

    def _read_body_after_upgrade(self) -> None:
        """Read the body httptools skipped after an upgrade request's head with a new parser.

        The new parser is primed with a head that announces the same framing; after the body
        the connection closes, since what follows is not parsed.
        """
        chunked = "transfer-encoding" in self._headers
        framing = (b"Transfer-Encoding: chunked" if chunked
                   else b"Content-Length: " + self._headers["content-length"].encode())
        self._parser = HttpRequestParser(BodyAfterUpgrade(self))
        self._parser.feed_data(b"POST / HTTP/1.1\r\n" + framing + b"\r\n\r\n")

    def _parser_failed(self, exc: HttpParserError) -> None:
        rejection = self._rejection
        if rejection is not None:
            self._rejection = None
            self._reject(*rejection)
        elif self._phase == IDLE and (self._stopped or self._draining):
            # Bytes after a "Connection: close" request, or a request begun after shutdown.
            self._stopped = True
        elif isinstance(exc, HttpParserCallbackError):
            log.error("HTTP parser callback failed", exc_info=exc.__context__ or exc)
            self._reject(500, "internal_error", "internal server error")
        else:
            self._reject(400, "bad_request", f"malformed HTTP request: {exc}")

    def _check_head_size(self, headers: dict[str, str]) -> None:
        """Refuse a head over the limit (called only when its chunks exceed the limit).

        A head that began and ended in one chunk no larger than the limit cannot exceed it,
        so the common case skips this sum.
        """
        size = len(self._url) + sum(len(k) + len(v) + 4 for k, v in headers.items())
        if size > self._max_head:
            self._reject_in_parser(431, "header_too_large", self._head_too_large())

    def _check_head_progress(self, received: int) -> None:
        """Bound a head that arrives in pieces without completing a header line.

        httptools buffers a partial header line itself, out of ``on_header``'s sight; every
        byte received after the chunk in which the request began is a head byte.
        """
        if self._head_raw < 0:
            self._head_raw = 0
            return
        self._head_raw += received
        if self._head_raw > self._max_head:
            self._reject(431, "header_too_large", self._head_too_large())

    def _expectation(self, expect: str) -> None:
        if expect.lower() == "100-continue" and self._request.http_version == "1.1":
            self._interim(CONTINUE)

    def _reject_in_parser(self, status: int, code: str, message: str) -> None:
        self._rejection = (status, code, message)
        raise StopParsing

    def _head_too_large(self) -> str:
        return f"the request head exceeds {self._max_head} bytes"

    def _body_too_large(self) -> str:
        return f"the request body exceeds {self._max_body} bytes"
