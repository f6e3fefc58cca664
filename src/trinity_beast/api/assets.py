"""Validation of the asset names callers send."""

from __future__ import annotations

from trinity_beast.errors import BadRequest

MAX_ASSET_LENGTH = 20


def normalize_asset(raw: str | None) -> str:
    """``" btc "`` → ``"BTC"``; :class:`BadRequest` for a missing or malformed name."""
    if raw is None or not raw.strip():
        raise BadRequest("query parameter 'asset' is required, e.g. ?asset=btc",
                         code="missing_parameter")
    asset = raw.strip().upper()
    if len(asset) > MAX_ASSET_LENGTH or not asset.isascii() or not asset.isalnum():
        raise BadRequest(f"'asset' must be 1-{MAX_ASSET_LENGTH} letters or digits",
                         code="invalid_asset")
    return asset
