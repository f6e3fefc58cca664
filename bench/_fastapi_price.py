"""The FastAPI reference of ``bench/http_price.py``: ``GET /price`` written the usual way.

A dict of API keys, a dict of prices, a Bearer check in the handler, and a dict returned for
FastAPI to serialise: what a FastAPI tutorial would write, with nothing tuned. It answers the
same fields as our ``/price`` (the quote is the one captured from our server, passed in
``BENCH_PRICE_BODY``; the key in ``BENCH_API_KEY``).

Run by the benchmark as
``uvicorn --factory --app-dir bench _fastapi_price:create_app --loop uvloop --http httptools``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from fastapi import FastAPI, Header, HTTPException


def create_app() -> FastAPI:
    captured = json.loads(os.environ["BENCH_PRICE_BODY"])
    api_keys: dict[str, dict[str, str]] = {os.environ["BENCH_API_KEY"]: {"tier": "partner"}}
    prices: dict[str, dict[str, Any]] = {
        captured["asset"]: {
            "price": captured["price"],
            "timestamp": captured["timestamp"],
            "exchange_timestamp": captured["exchange_timestamp"],
            "source": captured["source"],
            "received": time.time(),
        },
    }
    status = captured["status"]
    app = FastAPI()

    @app.get("/price")
    async def price(asset: str, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        if authorization is None or not authorization.startswith("Bearer "):
            raise HTTPException(status_code=401, detail="missing_api_key")
        if authorization.removeprefix("Bearer ") not in api_keys:
            raise HTTPException(status_code=401, detail="invalid_api_key")
        symbol = asset.upper()
        quote = prices.get(symbol)
        if quote is None:
            raise HTTPException(status_code=404, detail="unknown_asset")
        return {
            "status": status,
            "status_code": 200,
            "endpoint": "/price",
            "asset": symbol,
            "price": quote["price"],
            "timestamp": quote["timestamp"],
            "exchange_timestamp": quote["exchange_timestamp"],
            "source": quote["source"],
            "cached": True,
            "cache_age_seconds": round(time.time() - quote["received"], 3),
            "cache_tier": "L1_MEMORY",
            "latency_ms": 0,
            "duration_ms": 0,
        }

    return app
