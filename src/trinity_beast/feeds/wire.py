"""Wire-format helpers the exchange adapters share; the protocol knowledge stays in each adapter.

What is the same for every exchange lives here once: decoding untrusted JSON into a wire struct,
turning a bad price into :class:`MalformedFrame` with the exchange's name in the message,
keeping one quote per asset from a batch of trades, remembering symbol → asset answers, the
wire type of an exchange's RFC 3339 time, encoding a reply, and reading the path of a REST
request on the replay side. Plain functions, so a parse loop pays one function call for each and
nothing more.

How the adapters parse a frame fast: one typed decoder reads a well-formed trade frame whole,
times included (:data:`UtcTime`); a frame it refuses (control frames, other channels, odd times,
garbage) goes through the adapter's general path, an envelope decode that decides exactly as
before. So the fast path changes no outcome, it only skips work.

This module defines no ``ADAPTER``, so :mod:`trinity_beast.feeds.registry` passes it over.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar
from urllib.parse import parse_qs, urlsplit

import msgspec

from trinity_beast.feeds.base import MalformedFrame
from trinity_beast.prices.quote import InvalidPrice, Quote, checked_price

_T = TypeVar("_T")

DECODE_ERRORS = (msgspec.DecodeError, UnicodeError, RecursionError)
"""What decoding untrusted text can raise: bad JSON or schema, lone surrogates in a ``str``, and
nesting deeper than the decoder recurses (possible inside fields we skip)."""

_ENCODER = msgspec.json.Encoder()

UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
"""An RFC 3339 time with an offset, parsed by msgspec in C; ``.timestamp()`` is its epoch.

For times with up to six fraction digits (every exchange time we have recorded) that is the
float :func:`~trinity_beast.prices.quote.parse_rfc3339` gives; more digits are rounded to the
microsecond. Times msgspec refuses but ``parse_rfc3339`` reads (no offset, leap second ``:60``,
no seconds) fail the fast decode and take the adapter's general path."""

SYMBOL_CACHE_SIZE = 4096
"""Distinct symbols an adapter remembers; a venue lists far fewer than this."""


def symbol_cache(asset_of: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """``asset_of`` (an exchange symbol → our asset, or ``None``) remembering its answers.

    A hit is one C-level cache lookup instead of the string tests; the bound keeps a stream of
    made-up symbols from growing memory.
    """
    return functools.lru_cache(maxsize=SYMBOL_CACHE_SIZE)(asset_of)


def decode_frame(
    decoder: msgspec.json.Decoder[_T], data: str | bytes | msgspec.Raw, context: str
) -> _T:
    """Decode a frame, a REST body or a raw part of one; failing that, a malformed frame.

    The message is ``"<context>: <why>"`` (``"okx trades: Expected `array`, got `object`"``).
    """
    try:
        return decoder.decode(data)
    except DECODE_ERRORS as exc:
        raise MalformedFrame(f"{context}: {exc}") from exc


def frame_price(text: object, context: str, subject: str | None = None) -> tuple[str, float]:
    """:func:`checked_price` of a price read from the wire; an invalid one is a malformed frame.

    The message starts with ``context`` and, when given, ``subject`` (``"okx: …"``,
    ``"gemini trade btcusd: …"``).
    """
    try:
        return checked_price(text)
    except InvalidPrice as exc:
        where = context if subject is None else f"{context} {subject}"
        raise MalformedFrame(f"{where}: {exc}") from exc


def keep_latest(latest: dict[str, Quote], quote: Quote | None) -> None:
    """Keep ``quote`` in ``latest`` (asset → quote) unless it already holds a later trade.

    Fed the trades of one frame in order, ``latest`` ends with each asset's latest trade, the
    last one of a tie, assets in the order they first appeared. ``None`` (a trade that gives no
    quote, such as one of another market) changes nothing. Called once per trade: a plain
    function call is all a parse loop pays for it.
    """
    if quote is None:
        return
    held = latest.get(quote.asset)
    if held is None or quote.exchange_ts >= held.exchange_ts:
        latest[quote.asset] = quote


def latest_quotes(
    trades: Sequence[_T], quote_of: Callable[[_T, float], Quote | None], received_ts: float
) -> list[Quote]:
    """``quote_of(trade, received_ts)`` of every trade, the latest per asset (:func:`keep_latest`).

    Every trade is quoted, so one bad trade spoils the frame. A frame usually holds one trade:
    that one skips the dict.
    """
    if len(trades) == 1:
        quote = quote_of(trades[0], received_ts)
        return [] if quote is None else [quote]
    latest: dict[str, Quote] = {}
    for trade in trades:
        keep_latest(latest, quote_of(trade, received_ts))
    return list(latest.values())


def encode_text(value: object) -> str:
    """Compact JSON text of ``value``: keys in insertion order, no spaces."""
    return _ENCODER.encode(value).decode()


def request_query(path_qs: str, path: str) -> dict[str, list[str]] | None:
    """The parsed query of a replay REST request for exactly ``path``; ``None`` for other paths."""
    parts = urlsplit(path_qs)
    if parts.path != path:
        return None
    return parse_qs(parts.query)


def path_after(path_qs: str, prefix: str) -> str | None:
    """What follows ``prefix`` in the path of a replay REST request; ``None`` when it is not there.

    ``/v1/pubticker/btcusd`` after ``/v1/pubticker/`` is ``btcusd``; the query is ignored.
    """
    path = urlsplit(path_qs).path
    if not path.startswith(prefix):
        return None
    return path[len(prefix) :]
