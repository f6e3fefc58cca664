"""Decoding and answering ``POST /prices``: ``{"assets": [...]}``, de-duplicated, then ≤ 30."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from trinity_beast.api.assets import normalize_asset
from trinity_beast.api.price_body import PriceItem
from trinity_beast.api.price_view import price_item
from trinity_beast.errors import BadRequest, BeastError
from trinity_beast.prices.lookup import Answer

MAX_ASSETS = 30


class BatchRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    assets: list[object]


class AssetError(msgspec.Struct, frozen=True):
    asset: str
    error: str
    message: str
    status_code: int


class BatchBody(msgspec.Struct, frozen=True):
    status: str
    status_code: int
    endpoint: str
    count: int
    prices: list[PriceItem | AssetError]
    latency_ms: int
    duration_ms: int


_decode = msgspec.json.Decoder(BatchRequest).decode


def parse_batch(body: bytes) -> list[str | AssetError]:
    """The requested assets in order, normalized and de-duplicated (at most 30).

    A malformed name becomes an inline :class:`AssetError`; a body that is not the documented
    shape raises :class:`BadRequest`.
    """
    if not body:
        raise BadRequest('send a JSON body: {"assets": ["btc", "eth"]}', code="missing_body")
    try:
        request = _decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(f'body must be {{"assets": [...]}}: {exc}', code="invalid_body") from exc
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}", code="invalid_json") from exc
    if not request.assets:
        raise BadRequest("'assets' must list at least one asset", code="invalid_body")
    seen: dict[str, str | AssetError] = {}
    for raw in request.assets:
        if not isinstance(raw, str):
            raise BadRequest("every entry of 'assets' must be a string", code="invalid_body")
        try:
            asset = normalize_asset(raw)
        except BadRequest as exc:
            seen.setdefault(raw, AssetError(raw, exc.code, exc.message, exc.status))
            continue
        seen.setdefault(asset, asset)
    if len(seen) > MAX_ASSETS:
        raise BadRequest(f"at most {MAX_ASSETS} distinct assets per request, got {len(seen)}",
                         code="too_many_assets")
    return list(seen.values())


def batch_items(results: Sequence[Answer | BeastError | AssetError],
                names: Sequence[str]) -> list[PriceItem | AssetError]:
    items: list[PriceItem | AssetError] = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BeastError):
            items.append(AssetError(name, result.code, result.message, result.status))
        elif isinstance(result, AssetError):
            items.append(result)
        else:
            items.append(price_item(result))
    return items
