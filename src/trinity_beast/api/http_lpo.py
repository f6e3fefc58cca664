"""The LPO's HTTP front-end (:8080): decode, call the price service, encode. Nothing else.

Routes: ``GET /price``, ``GET /health``, ``GET /exchanges``; ``OPTIONS`` for CORS preflight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from trinity_beast.api.assets import normalize_asset
from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.health import HealthView
from trinity_beast.api.price_view import encode, price_body
from trinity_beast.errors import BeastError, MethodNotAllowed, NotFound
from trinity_beast.http import Request, Response
from trinity_beast.prices.lookup import Answer, PriceService

log = logging.getLogger(__name__)

CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
    ("Access-Control-Max-Age", "86400"),
]
ALLOW_ORIGIN = [("Access-Control-Allow-Origin", "*")]

Route = Callable[[Request], Response | Awaitable[Response]]


class LpoHttpApp:
    def __init__(self, prices: PriceService, auth: Authenticator, envelope: Envelope,
                 health: HealthView) -> None:
        self.prices = prices
        self.auth = auth
        self.envelope = envelope
        self.health = health
        self.routes: dict[str, dict[str, Route]] = {
            "/price": {"GET": self.get_price},
            "/health": {"GET": self.get_health},
            "/exchanges": {"GET": self.get_exchanges},
        }

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        try:
            methods = self.routes.get(request.path)
            if methods is None:
                raise NotFound(f"no such endpoint: {request.path}", code="not_found")
            if request.method == "OPTIONS":
                return Response(204, b"", "text/plain", list(CORS_HEADERS))
            handler = methods.get("GET" if request.method == "HEAD" else request.method)
            if handler is None:
                raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
            return handler(request)
        except BeastError as exc:
            return self.error(request.path, exc)

    def error(self, endpoint: str, exc: BeastError) -> Response:
        headers = list(ALLOW_ORIGIN)
        if exc.retry_after is not None:
            headers.append(("Retry-After", str(max(1, round(exc.retry_after)))))
        if isinstance(exc, MethodNotAllowed):
            allowed = sorted(self.routes.get(endpoint, {}))
            headers.append(("Allow", ", ".join([*allowed, "OPTIONS"])))
        return Response(exc.status, self.envelope.error_from(endpoint, exc),
                        "application/json", headers)

    def error_factory(self, status: int, code: str, message: str) -> Response:
        """Errors the HTTP server detects itself (bad framing, limits, timeouts)."""
        return Response(status, self.envelope.error_body("-", status, code, message),
                        "application/json", list(ALLOW_ORIGIN))

    def get_price(self, request: Request) -> Response | Awaitable[Response]:
        started = time.perf_counter()
        self.auth.from_header(request.headers.get("authorization"))
        asset = normalize_asset(request.query().get("asset"))
        answer = self.prices.local(asset)
        if answer is not None:
            return self._price_response(answer, started)
        return self._price_remote(asset, started)

    async def _price_remote(self, asset: str, started: float) -> Response:
        try:
            answer = await self.prices.lookup(asset)
        except BeastError as exc:
            return self.error("/price", exc)
        return self._price_response(answer, started)

    def _price_response(self, answer: Answer, started: float) -> Response:
        elapsed = int((time.perf_counter() - started) * 1000)
        body = price_body(self.envelope.status("/price", 200), "/price", answer, elapsed)
        return Response(200, encode(body), "application/json", list(ALLOW_ORIGIN))

    def get_health(self, _request: Request) -> Response:
        return Response(200, self.health.render(), "application/json", list(ALLOW_ORIGIN))

    def get_exchanges(self, _request: Request) -> Response:
        return Response(200, self.health.exchanges(), "application/json", list(ALLOW_ORIGIN))
