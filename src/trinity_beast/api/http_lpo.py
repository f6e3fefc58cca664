"""The LPO's price routes (:8080): decode, call the price service, encode. Nothing else."""

from __future__ import annotations

import time
from collections.abc import Awaitable

from trinity_beast.api.assets import normalize_asset
from trinity_beast.api.auth import bearer_token
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.health import HealthView
from trinity_beast.api.price_view import encode, price_body
from trinity_beast.api.router import RouteTable, json_response
from trinity_beast.api.service import LpoService
from trinity_beast.errors import BeastError
from trinity_beast.http import Request, Response
from trinity_beast.keys.model import KeyRecord
from trinity_beast.prices.lookup import Answer


class LpoRoutes:
    """``GET /price``, ``GET /health``, ``GET /exchanges``."""

    def __init__(self, service: LpoService, envelope: Envelope, health: HealthView) -> None:
        self.service = service
        self.prices = service.prices
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
        key = self.service.authorize(bearer_token(request.headers.get("authorization")))
        try:
            asset = normalize_asset(request.query().get("asset"))
        except BeastError as exc:
            self.service.log(key, "/price", "http", started, exc.status)
            raise
        answer = self.prices.local(asset)
        if answer is not None:
            return self._price_response(key, answer, started)
        return self._price_remote(key, asset, started)

    async def _price_remote(self, key: KeyRecord, asset: str, started: float) -> Response:
        try:
            answer = await self.prices.lookup(asset)
        except BeastError as exc:
            self.service.log(key, "/price", "http", started, exc.status, asset=asset)
            raise
        return self._price_response(key, answer, started)

    def _price_response(self, key: KeyRecord, answer: Answer, started: float) -> Response:
        elapsed = int((time.perf_counter() - started) * 1000)
        body = price_body(self.envelope.status("/price", 200), "/price", answer, elapsed)
        response = json_response(encode(body))
        self.service.log(key, "/price", "http", started, 200, (answer,))
        return response

    def get_health(self, _request: Request) -> Response:
        return json_response(self.health.render())

    def get_exchanges(self, _request: Request) -> Response:
        return json_response(self.health.exchanges())
