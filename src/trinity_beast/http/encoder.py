"""Turns a :class:`Response` into the bytes of an HTTP/1.1 answer.

Everything constant is built once: the status line with the ``Server`` header for every
status, the ``Content-Type`` line of each content type in use and each extra header line an
application repeats (CORS headers, for example). Encoding a small JSON answer is then a
handful of dictionary look-ups and one ``bytes`` formatting operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus

from trinity_beast.http.date import Clock
from trinity_beast.http.response import Response

CONNECTION_CLOSE = b"Connection: close\r\n"
CONNECTION_KEEP_ALIVE = b"Connection: keep-alive\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_BODYLESS_STATUSES = frozenset({204, 304})
"""Statuses whose answers carry neither body nor ``Content-Length`` (RFC 9110 §8.6, §15)."""

_MANAGED_HEADERS = frozenset(
    {"connection", "content-length", "content-type", "date", "server", "transfer-encoding"}
)
"""Headers the server writes itself; an application may not add them to ``headers``."""

_CACHE_LIMIT = 256
"""Most cached content-type and header lines; beyond that lines are built each time."""


class ResponseEncoder:
    """Encodes responses for one server (its ``Server`` name and its clock's ``Date``)."""

    __slots__ = ("_clock", "_content_types", "_header_lines", "_server_line", "_status_lines")

    def __init__(self, server_name: str, clock: Clock) -> None:
        self._clock = clock
        self._server_line = b"Server: " + _field_value(server_name) + b"\r\n"
        self._status_lines = {
            int(s): self._status_line(int(s), s.phrase) for s in HTTPStatus if s >= 200
        }
        self._content_types: dict[str, bytes] = {}
        self._header_lines: dict[tuple[str, str], bytes] = {}

    def encode(self, response: Response, connection: bytes, head_only: bool) -> bytes:
        """The whole answer; ``connection`` is ``b""`` or one of the ``CONNECTION_*`` lines.

        Raises ``ValueError``/``TypeError`` for a response that cannot be sent as given (bad
        status, header injection, a body that is not bytes); the caller answers 500 instead.
        """
        status = response.status
        start = self._status_lines.get(status) or self._unusual_status(status)
        content_type = self._content_types.get(response.content_type)
        if content_type is None:
            content_type = self._content_type_line(response.content_type)
        extra = self._extra_lines(response.headers) if response.headers else b""
        if status in _BODYLESS_STATUSES:
            return b"%s%s%s%s\r\n" % (start, self._clock.date_line, connection, extra)
        body = response.body
        return b"%s%s%sContent-Length: %d\r\n%s%s\r\n%s" % (
            start,
            self._clock.date_line,
            content_type,
            len(body),
            connection,
            extra,
            b"" if head_only else body,
        )

    def _status_line(self, status: int, phrase: str) -> bytes:
        return b"HTTP/1.1 %d %s\r\n%s" % (status, phrase.encode("ascii"), self._server_line)

    def _unusual_status(self, status: int) -> bytes:
        if type(status) is not int or not 200 <= status <= 599:
            raise ValueError(f"status {status!r} cannot be sent as a final response")
        line = self._status_lines[status] = self._status_line(status, "")
        return line

    def _content_type_line(self, content_type: str) -> bytes:
        line = b"Content-Type: " + _field_value(content_type) + b"\r\n"
        if len(self._content_types) < _CACHE_LIMIT:
            self._content_types[content_type] = line
        return line

    def _extra_lines(self, headers: Iterable[tuple[str, str]]) -> bytes:
        cache = self._header_lines
        lines = []
        for pair in headers:
            line = cache.get(pair)
            if line is None:
                line = _header_line(*pair)
                if len(cache) < _CACHE_LIMIT:
                    cache[pair] = line
            lines.append(line)
        return b"".join(lines)


def _header_line(name: str, value: str) -> bytes:
    if not name or name.lower() in _MANAGED_HEADERS or not _is_token(name):
        raise ValueError(f"header name {name!r} cannot be set by a handler")
    return name.encode("ascii") + b": " + _field_value(value) + b"\r\n"


def _is_token(name: str) -> bool:
    return name.isascii() and all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in name)


def _field_value(value: str) -> bytes:
    """``value`` as latin-1 bytes, refusing the control characters that split a response."""
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"header value {value!r} contains a line break")
    return value.encode("latin-1")
