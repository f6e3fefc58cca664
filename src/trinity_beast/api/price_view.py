"""The JSON body of a price answer (API.md §5.1 fields plus the §5.3 envelope)."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from trinity_beast.api.price_body import PriceBody, PriceItem
from trinity_beast.prices.lookup import Answer
from trinity_beast.prices.quote import Quote, rfc3339

_encode = msgspec.json.Encoder().encode


class _QuoteTexts(NamedTuple):
    """What an answer shows of a quote that does not change while the quote stays the latest."""

    quote: Quote
    price: msgspec.Raw
    received: str
    exchange: str


_TEXTS: dict[str, _QuoteTexts] = {}
"""Asset → the texts of the last quote answered. The book keeps serving the same ``Quote``
object until the next trade, so most answers reuse them instead of formatting two times."""
_TEXTS_LIMIT = 10_000


def _texts(quote: Quote) -> _QuoteTexts:
    texts = _TEXTS.get(quote.asset)
    if texts is None or texts.quote is not quote:
        if len(_TEXTS) >= _TEXTS_LIMIT:
            _TEXTS.clear()
        texts = _TEXTS[quote.asset] = _QuoteTexts(
            quote, msgspec.Raw(quote.price.encode()), rfc3339(quote.received_ts),
            rfc3339(quote.exchange_ts))
    return texts


def price_body(status: str, endpoint: str, answer: Answer, elapsed_ms: int) -> PriceBody:
    quote = answer.quote
    texts = _texts(quote)
    return PriceBody(
        status=status, status_code=200, endpoint=endpoint, asset=quote.asset,
        price=texts.price, timestamp=texts.received, exchange_timestamp=texts.exchange,
        source=quote.source, cached=answer.cached,
        cache_age_seconds=round(answer.cache_age_seconds, 3), cache_tier=answer.tier,
        latency_ms=elapsed_ms, duration_ms=elapsed_ms,
    )


def price_item(answer: Answer) -> PriceItem:
    quote = answer.quote
    texts = _texts(quote)
    return PriceItem(
        asset=quote.asset, price=texts.price, timestamp=texts.received,
        exchange_timestamp=texts.exchange, source=quote.source, cached=answer.cached,
        cache_age_seconds=round(answer.cache_age_seconds, 3), cache_tier=answer.tier,
    )


def encode(body: msgspec.Struct) -> bytes:
    return _encode(body)
