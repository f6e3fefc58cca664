"""The structs of the LPO's UDP datagrams: the decoded request (:mod:`~.wire` fills it) and the
parts of a reply (:mod:`~.replies` encodes them). Structs only, so that the decoding and
encoding modules can be compiled (docs/compiled.md)."""

from __future__ import annotations

from typing import Literal, NamedTuple

import msgspec

from trinity_beast.prices.quote import Quote

Form = Literal["json", "text"]
Endpoint = Literal["/price", "/prices"]


class Signed(NamedTuple):
    """The signature part of a signed request (checked by :mod:`~trinity_beast.udp.signing`)."""

    key_id: str
    ts: int
    nonce: str
    sig: str


class UdpRequest(msgspec.Struct, frozen=True, gc=False):
    form: Form
    endpoint: Endpoint
    """``/price`` for one asset (``asset`` or a one-name text request), else ``/prices``."""
    assets: tuple[str, ...]
    """The names exactly as sent (validated by :func:`normalize_assets` after authentication)."""
    api_key: str | None
    signed: Signed | None


class JsonRequest(msgspec.Struct, forbid_unknown_fields=True):
    api_key: str | None = None
    asset: str | None = None
    assets: list[str] | None = None
    key_id: str | None = None
    ts: int | None = None
    nonce: str | None = None
    sig: str | None = None


class ShortError(msgspec.Struct, frozen=True, omit_defaults=True):
    """The smallest JSON error, for replies that may not exceed the request's size."""

    status_code: int
    error: str
    retry_after: float | None = None


class BatchError(msgspec.Struct, frozen=True):
    asset: str
    error: str
    message: str
    status_code: int


class QuoteBytes(NamedTuple):
    quote: Quote
    price_head: bytes
    """``GET /price`` body up to and including ``"cached":``."""
    item_head: bytes
    """Batch item up to and including ``"cache_age_seconds":``."""
    line: bytes
    """The text form's ``ASSET|PRICE|TIMESTAMP|SOURCE``."""
