"""What a handler returns, and the two callables an application plugs into the server."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec

from trinity_beast.http.request import Request

if TYPE_CHECKING:  # annotations only: no runtime dependency
    from typing_extensions import TypeIs

_encode_json = msgspec.json.Encoder().encode


class Response:
    """Status, body and extra headers of one answer.

    The server adds ``Date``, ``Server``, ``Content-Type``, ``Content-Length`` and, when the
    connection ends, ``Connection: close``; ``headers`` holds only the others.
    """

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers: list[tuple[str, str]] = [] if headers is None else headers

    @classmethod
    def json(
        cls, obj: object, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        """``obj`` encoded with msgspec (structs, dicts, lists, numbers, strings …)."""
        return cls(status, _encode_json(obj), "application/json", headers)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.content_type} {len(self.body)} bytes>"


Handler = Callable[[Request], Response | Awaitable[Response]]
"""Answers one request, synchronously (fast path) or as an awaitable (run in a task)."""

ErrorFactory = Callable[[int, str, str], Response]
"""Builds the answer to an error the server itself detects: ``(status, code, message)``."""


def default_error_factory(status: int, code: str, message: str) -> Response:
    """``{"error": code, "message": message, "status_code": status}``."""
    return Response.json({"error": code, "message": message, "status_code": status}, status)


def is_pending(result: Response | Awaitable[Response]) -> TypeIs[Awaitable[Response]]:
    """Whether what a handler returned is an awaitable to run rather than a ready answer.

    The exact type test comes first: ``inspect.isawaitable`` costs a few microseconds, and the
    hot path returns a :class:`Response`.
    """
    return type(result) is not Response and inspect.isawaitable(result)
