"""The LPO's price routes (:8080): decode, call the price service, encode. Nothing else.

``GET /price`` (``?agg=median`` for the cross-exchange aggregate), ``POST /prices`` (a batch
counts as one request), ``GET /health``, ``GET /exchanges``, ``GET /openapi.json``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable

import msgspec

from trinity_beast.api.aggregate_view import AggregateBody
from trinity_beast.api.assets import normalize_asset
from trinity_beast.api.auth import bearer_token
from trinity_beast.api.batch import BatchBody, batch_items, parse_batch
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.health import HealthView
from trinity_beast.api.openapi import openapi_document
from trinity_beast.api.price_view import encode, price_body
from trinity_beast.api.router import RouteTable, json_response
from trinity_beast.api.service import LpoService
from trinity_beast.errors import BadRequest, BeastError, Unavailable
from trinity_beast.http import Request, Response
from trinity_beast.keys.model import KeyRecord
from trinity_beast.prices.aggregate import NotEnoughProviders
from trinity_beast.prices.lookup import Answer


def msgspec_json(document: object) -> bytes:
    return msgspec.json.encode(document)


class LpoRoutes:
    """``GET /price``, ``GET /health``, ``GET /exchanges``."""

    def __init__(self, service: LpoService, envelope: Envelope, health: HealthView) -> None:
        self.service = service
        self.prices = service.prices
        self.envelope = envelope
        self.health = health
        self._openapi = msgspec_json(openapi_document())

    def table(self) -> RouteTable:
        return {
            "/price": {"GET": self.get_price},
            "/prices": {"POST": self.post_prices},
            "/health": {"GET": self.get_health},
            "/exchanges": {"GET": self.get_exchanges},
            "/openapi.json": {"GET": self.get_openapi},
        }

    def get_price(self, request: Request) -> Response | Awaitable[Response]:
        started = time.perf_counter()
        key = self.service.authorize(bearer_token(request.headers.get("authorization")))
        query = request.query()
        try:
            asset = normalize_asset(query.get("asset"))
            agg = query.get("agg")
            if agg is not None:
                return self._aggregate(key, asset, agg, started)
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

    def _aggregate(self, key: KeyRecord, asset: str, agg: str, started: float) -> Response:
        if agg != "median":
            raise BadRequest("'agg' supports only 'median'", code="invalid_parameter")
        try:
            result = self.prices.aggregate(asset)
        except NotEnoughProviders as exc:
            raise Unavailable(str(exc), code="not_enough_providers") from exc
        elapsed = int((time.perf_counter() - started) * 1000)
        body = AggregateBody(self.envelope.status("/price", 200), 200, "/price", asset,
                             result.median, "median", list(result.providers),
                             list(result.excluded), True, elapsed, elapsed)
        self.service.log(key, "/price", "http", started, 200, asset=asset)
        return json_response(encode(body))

    async def post_prices(self, request: Request) -> Response:
        started = time.perf_counter()
        key = self.service.authorize(bearer_token(request.headers.get("authorization")))
        try:
            wanted = parse_batch(request.body)
        except BeastError as exc:
            self.service.log(key, "/prices", "http", started, exc.status, count=0)
            raise
        names = [w if isinstance(w, str) else w.asset for w in wanted]
        valid = [w for w in wanted if isinstance(w, str)]
        found = iter(await self.service.lookup_many(valid))
        results = [next(found) if isinstance(w, str) else w for w in wanted]
        items = batch_items(results, names)
        answers = [r for r in results if isinstance(r, Answer)]
        elapsed = int((time.perf_counter() - started) * 1000)
        body = BatchBody(self.envelope.status("/prices", 200), 200, "/prices", len(items),
                         items, elapsed, elapsed)
        self.service.log(key, "/prices", "http", started, 200, answers,
                         asset=names[0] if names else None, count=len(names))
        return json_response(encode(body))

    def get_openapi(self, _request: Request) -> Response:
        return json_response(self._openapi)

    def get_health(self, _request: Request) -> Response:
        return json_response(self.health.render())

    def get_exchanges(self, _request: Request) -> Response:
        return json_response(self.health.exchanges())
