"""One parsed HTTP request, as handlers see it."""

from __future__ import annotations

from typing import overload
from urllib.parse import parse_qsl, unquote_to_bytes


class Request:
    """A complete request: head and body are both in memory when the handler runs.

    ``path`` is percent-decoded and has no query; ``query_string`` is the raw text after
    ``?``. Header names are lower-case; a repeated header has its values joined with ``", "``.
    """

    __slots__ = (
        "_query",
        "body",
        "client",
        "headers",
        "http_version",
        "keep_alive",
        "method",
        "path",
        "query_string",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        client: tuple[str, int] | None,
        http_version: str,
        keep_alive: bool,
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.client = client
        self.http_version = http_version
        self.keep_alive = keep_alive
        self._query: dict[str, str] | None = None

    def query(self) -> dict[str, str]:
        """The query parameters, percent-decoded; the first value of a repeated name wins."""
        parsed = self._query
        if parsed is None:
            parsed = self._query = _parse_query(self.query_string)
        return parsed

    @overload
    def header(self, name: str) -> str | None: ...
    @overload
    def header(self, name: str, default: str) -> str: ...
    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (any case), or ``default`` when it was not sent."""
        return self.headers.get(name.lower(), default)

    def __repr__(self) -> str:
        # No query and no headers: they may carry an API key, and reprs end up in logs.
        return f"<Request {self.method} {self.path} HTTP/{self.http_version}>"


def _parse_query(query: str) -> dict[str, str]:
    """``parse_qsl(query, keep_blank_values=True)`` with the first value of a name winning.

    A query with nothing to decode (no ``%``, no ``+``: ``asset=btc``) is split directly,
    which gives the same pairs several times faster than ``parse_qsl``.
    """
    parsed: dict[str, str] = {}
    if "%" in query or "+" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            parsed.setdefault(name, value)
        return parsed
    for pair in query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            parsed.setdefault(name, value)
    return parsed


_SLASH, _QUESTION, _HASH, _PERCENT = b"/?#%"
"""Byte values: ``int in bytes`` is a plain scan, several times faster than ``bytes in bytes``."""


def split_target(target: bytes) -> tuple[str, str]:
    """``(decoded path, raw query)`` of a request target.

    Origin-form (``/path?query``) is the usual case; absolute-form (``http://host/path``, sent
    to proxies) is reduced to its path; authority-form (``CONNECT host:443``) and ``*`` are
    kept as they are; a fragment, which clients should not send, is dropped.
    """
    if _HASH in target or not target or target[0] != _SLASH:
        target = _origin_form(target)
    if _QUESTION in target:
        path, _, raw_query = target.partition(b"?")
        query = raw_query.decode("latin-1")
    else:
        path, query = target, ""
    if _PERCENT in path:
        path = unquote_to_bytes(path)
    return path.decode("utf-8", "replace"), query


def _origin_form(target: bytes) -> bytes:
    target = target.partition(b"#")[0]
    scheme, sep, rest = target.partition(b"://")
    if not sep or b"/" in scheme:
        return target
    slash = rest.find(b"/")
    query = rest.find(b"?")
    if slash < 0 or 0 <= query < slash:
        return b"/" + rest[query:] if query >= 0 else b"/"
    return rest[slash:]
