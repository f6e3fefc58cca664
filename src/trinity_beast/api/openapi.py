"""The OpenAPI 3.1 description of the LPO HTTP API, exactly what :mod:`http_lpo` serves."""

from __future__ import annotations

from typing import Any

from trinity_beast import __version__

_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_NUM: dict[str, Any] = {"type": "number"}
_BOOL: dict[str, Any] = {"type": "boolean"}

ENVELOPE = {
    "status": {**_STR, "example": "✅ [LPO] [local] [BeastMain] [/price] [200]"},
    "status_code": _INT,
    "endpoint": _STR,
}
PRICE_FIELDS = {
    "asset": {**_STR, "description": "Upper-case symbol"},
    "price": {**_NUM, "description": "USD price with exactly the exchange's digits"},
    "timestamp": {**_STR, "format": "date-time", "description": "When we received the price"},
    "exchange_timestamp": {**_STR, "format": "date-time", "description": "Trade time"},
    "source": {**_STR, "example": "coinbase-ws"},
    "cached": _BOOL,
    "cache_age_seconds": _NUM,
    "cache_tier": {"enum": ["L1_MEMORY", "L2_VALKEY", "L3_REST"]},
}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": required if required is not None else list(properties)}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Bad or missing parameter / body", 401: "Missing, invalid or revoked key",
            404: "Unknown asset", 405: "Method not allowed", 413: "Body too large",
            429: "Rate limit or monthly quota (see Retry-After)",
            403: "Wrong admin key, or admin disabled (no ADMIN_API_KEY)",
            503: "No fresh price anywhere / not enough providers / at capacity (overloaded)"}
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


def _schemas() -> dict[str, Any]:
    timing = {"latency_ms": _INT, "duration_ms": _INT}
    return {
        "Price": _obj({**ENVELOPE, **PRICE_FIELDS, **timing}),
        "Aggregate": _obj({
            **ENVELOPE, "asset": _STR, "price": _NUM, "aggregate": {"const": "median"},
            "providers": {"type": "array", "items": _STR},
            "excluded": {"type": "array", "items": _STR}, "cached": _BOOL, **timing}),
        "PriceItem": _obj(PRICE_FIELDS),
        "AssetError": _obj({"asset": _STR, "error": _STR, "message": _STR, "status_code": _INT}),
        "Batch": _obj({**ENVELOPE, "count": _INT, "prices": {
            "type": "array", "items": {"oneOf": [_ref("PriceItem"), _ref("AssetError")]}},
            **timing}),
        "Error": _obj({**ENVELOPE, "error": {**_STR, "description": "Stable machine code"},
                       "message": _STR, "retry_after": _NUM},
                      ["status", "status_code", "endpoint", "error", "message"]),
        "Health": _obj({**ENVELOPE, "health": {"enum": ["ok", "degraded", "down"]}, "node": _STR,
                        "server_type": _STR, "version": _STR, "pid": _INT, "uptime_s": _NUM,
                        "feeds_live": _INT, "assets_priced": _INT,
                        "feeds": {"type": "object", "additionalProperties": {"type": "object"}}}),
        "Exchanges": _obj({**ENVELOPE, "count": _INT, "exchanges": {"type": "array", "items": _obj(
            {"exchange": _STR, "source": _STR, "state": _STR,
             "assets": {"type": "array", "items": _STR}})}}),
    }


def _paths() -> dict[str, Any]:
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    asset = {"name": "asset", "in": "query", "required": True, "schema": _STR,
             "description": "Case-insensitive symbol, e.g. btc"}
    agg = {"name": "agg", "in": "query", "required": False, "schema": {"enum": ["median"]}}
    batch_body = _obj({"assets": {"type": "array", "items": _STR, "minItems": 1,
                                  "description": "De-duplicated, then at most 30"}})
    return {
        "/price": {"get": {
            "summary": "Latest USD price of one asset", "security": bearer,
            "parameters": [asset, agg],
            "responses": {"200": _json({"oneOf": [_ref("Price"), _ref("Aggregate")]}, "Price"),
                          **_errors(400, 401, 404, 429, 503)}}},
        "/prices": {"post": {
            "summary": "Up to 30 prices; counts as one request", "security": bearer,
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": batch_body}}},
            "responses": {"200": _json(_ref("Batch"), "Per-asset prices or errors"),
                          **_errors(400, 401, 413, 429, 503)}}},
        "/health": {"get": {"summary": "Node and feed health (no key)",
                            "responses": {"200": _json(_ref("Health"), "Health")}}},
        "/exchanges": {"get": {"summary": "Exchanges and their prewarmed assets (no key)",
                               "responses": {"200": _json(_ref("Exchanges"), "Exchanges")}}},
        "/openapi.json": {"get": {"summary": "This document",
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        "/metrics": {"get": {
            "summary": "Prometheus metrics (loopback clients, or with X-Admin-Key)",
            "responses": {"200": {"description": "Prometheus text format 0.0.4"},
                          **_errors(403)}}},
        **_admin_paths(),
    }


def _admin_paths() -> dict[str, Any]:
    """The admin routes (docs/admin.md); also served on the LRS listener."""
    admin: list[dict[str, list[str]]] = [{"admin": []}]
    answers = {"200": _json({"type": "object"}, "Done"), **_errors(400, 401, 403, 429, 503)}

    def op(summary: str) -> dict[str, Any]:
        return {"summary": summary, "security": admin, "responses": answers}

    mode = {"name": "mode", "in": "query", "required": False,
            "schema": {"enum": ["demo", "performance", "debug"]}}
    return {
        "/admin/invalidate-key": {"post": op("Re-read one key on every node")},
        "/admin/reload-params": {"post": op("Reload the application parameters everywhere")},
        "/admin/system-mode": {
            "get": {**op("Show the mode, or apply one with ?mode="), "parameters": [mode]},
            "post": {**op("Apply a parameter profile"), "parameters": [mode]}},
        "/admin/cluster-stats": {"get": op("Every live process's figures, added up")},
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "The Trinity Beast — Listener Price Oracle", "version": __version__},
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "admin": {"type": "apiKey", "in": "header", "name": "X-Admin-Key"}},
        },
    }
