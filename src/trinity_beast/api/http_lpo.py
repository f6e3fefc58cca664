"""The LPO's price routes (:8080): decode, call the price service, encode. Nothing else."""

from __future__ import annotations

import time
from collections.abc import Awaitable

from trinity_beast.api.assets import normalize_asset
from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.health import HealthView
from trinity_beast.api.price_view import encode, price_body
from trinity_beast.api.router import RouteTable, json_response
from trinity_beast.http import Request, Response
from trinity_beast.prices.lookup import Answer, PriceService


class LpoRoutes:
    """``GET /price``, ``GET /health``, ``GET /exchanges``."""

    def __init__(self, prices: PriceService, auth: Authenticator, envelope: Envelope,
                 health: HealthView) -> None:
        self.prices = prices
        self.auth = auth
        self.envelope = envelope
        self.health = health

    def table(self) -> RouteTable:
        return {
            "/price": {"GET": self.get_price},
            "/health": {"GET": self.get_health},
            "/exchanges": {"GET": self.get_exchanges},
        }

    def get_price(self, request: Request) -> Response | Awaitable[Response]:
        started = time.perf_counter()
        self.auth.from_header(request.headers.get("authorization"))
        asset = normalize_asset(request.query().get("asset"))
        answer = self.prices.local(asset)
        if answer is not None:
            return self._price_response(answer, started)
        return self._price_remote(asset, started)

    async def _price_remote(self, asset: str, started: float) -> Response:
        return self._price_response(await self.prices.lookup(asset), started)

    def _price_response(self, answer: Answer, started: float) -> Response:
        elapsed = int((time.perf_counter() - started) * 1000)
        body = price_body(self.envelope.status("/price", 200), "/price", answer, elapsed)
        return json_response(encode(body))

    def get_health(self, _request: Request) -> Response:
        return json_response(self.health.render())

    def get_exchanges(self, _request: Request) -> Response:
        return json_response(self.health.exchanges())
