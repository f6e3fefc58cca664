"""One HTTP application per listener: a route table, CORS, and structured errors.

Route providers (the LPO price routes, the admin routes, the LRS report routes …) each return a
``{path: {method: handler}}`` table; :class:`HttpApp` merges them. A handler raises
:class:`~trinity_beast.errors.BeastError` for anything the caller did wrong; the app turns it
into the envelope's JSON error, for synchronous and asynchronous handlers alike.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from trinity_beast.api.envelope import Envelope
from trinity_beast.api.ip_guard import IpGuard
from trinity_beast.errors import BeastError, MethodNotAllowed, NotFound
from trinity_beast.http import Request, Response, is_pending

log = logging.getLogger(__name__)

Route = Callable[[Request], Response | Awaitable[Response]]
RouteTable = Mapping[str, Mapping[str, Route]]

ALLOW_ORIGIN = ("Access-Control-Allow-Origin", "*")
CORS_PREFLIGHT = [
    ALLOW_ORIGIN,
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Admin-Key"),
    ("Access-Control-Max-Age", "86400"),
]


def json_response(body: bytes, status: int = 200,
                  headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON answer with the CORS header every answer carries."""
    return Response(status, body, "application/json", [ALLOW_ORIGIN, *(headers or ())])


class HttpApp:
    def __init__(self, envelope: Envelope, *tables: RouteTable,
                 ip_guard: IpGuard | None = None) -> None:
        self.envelope = envelope
        self.ip_guard = ip_guard
        self.routes: dict[str, dict[str, Route]] = {}
        for table in tables:
            self.add(table)

    def add(self, table: RouteTable) -> None:
        for path, methods in table.items():
            self.routes.setdefault(path, {}).update(methods)

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        path = request.path
        try:
            if self.ip_guard is not None and request.client is not None:
                self.ip_guard.check(request.client[0])
            methods = self.routes.get(path)
            if methods is None:
                raise NotFound(f"no such endpoint: {path}", code="not_found")
            if request.method == "OPTIONS":
                return Response(204, b"", "text/plain", list(CORS_PREFLIGHT))
            handler = methods.get("GET" if request.method == "HEAD" else request.method)
            if handler is None:
                raise MethodNotAllowed(f"{request.method} is not allowed on {path}")
            result = handler(request)
        except BeastError as exc:
            return self.error(path, exc)
        if is_pending(result):
            return self._finish(path, result)
        return result

    async def _finish(self, path: str, pending: Awaitable[Response]) -> Response:
        try:
            return await pending
        except BeastError as exc:
            return self.error(path, exc)

    def error(self, endpoint: str, exc: BeastError) -> Response:
        headers: list[tuple[str, str]] = []
        if exc.retry_after is not None:
            headers.append(("Retry-After", str(max(1, round(exc.retry_after + 0.499)))))
        if isinstance(exc, MethodNotAllowed):
            allowed = sorted(self.routes.get(endpoint, {}))
            headers.append(("Allow", ", ".join([*allowed, "OPTIONS"])))
        return json_response(self.envelope.error_from(endpoint, exc), exc.status, headers)

    def error_factory(self, status: int, code: str, message: str) -> Response:
        """Errors the HTTP server detects itself (bad framing, limits, timeouts)."""
        return json_response(self.envelope.error_body("-", status, code, message), status)
