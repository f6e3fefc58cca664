"""Encoding the one reply datagram, in the request's form, never larger than ``MAX_REPLY_BYTES``.

JSON: one asset gets exactly the body of HTTP ``GET /price``; a batch gets the ``/prices``
envelope with compact items, as many as fit, in request order (``"truncated": true`` says some
were left out). Text: one ``ASSET|PRICE|TIMESTAMP|SOURCE`` line per asset, ``ASSET|ERR|code``
for an asset without a price, a final ``MORE|n`` when ``n`` assets did not fit, and
``ERR|code|message[|retry_after]`` for a refused request.

The parts of an answer that depend only on the quote (names, price digits, timestamps) are
serialized once per quote and reused (the seed's pre-serialized responses); only the age and
the timings are formatted per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import msgspec

from trinity_beast.api.envelope import Envelope
from trinity_beast.errors import BeastError
from trinity_beast.prices.lookup import Answer
from trinity_beast.prices.quote import Quote, rfc3339
from trinity_beast.udp.messages import BatchError, QuoteBytes, ShortError

MAX_REPLY_BYTES = 1400
MAX_MESSAGE = 200
"""Longest ``message`` of a request-level error."""
MAX_ITEM_MESSAGE = 64
"""Longest ``message`` of one asset's error inside a batch."""
MAX_CACHED_QUOTES = 4096

Result = Answer | BeastError

_json = msgspec.json.encode


class Replies(Protocol):
    def price(self, answer: Answer, elapsed_ms: int) -> bytes: ...

    def batch(self, assets: Sequence[str], results: Sequence[Result]) -> bytes: ...

    def error(self, endpoint: str, exc: BeastError) -> bytes: ...

    def short_error(self, exc: BeastError) -> bytes: ...


class QuoteCache:
    """The serialized parts of the latest quote of each asset (reused while it is current)."""

    def __init__(self, status: str) -> None:
        self._head = b'{"status":' + _json(status) + b',"status_code":200,"endpoint":"/price"'
        self._by_asset: dict[str, QuoteBytes] = {}

    def get(self, quote: Quote) -> QuoteBytes:
        cached = self._by_asset.get(quote.asset)
        if cached is not None and cached.quote is quote:
            return cached
        if len(self._by_asset) >= MAX_CACHED_QUOTES:
            self._by_asset.clear()
        fresh = self._serialize(quote)
        self._by_asset[quote.asset] = fresh
        return fresh

    def _serialize(self, quote: Quote) -> QuoteBytes:
        asset, price, source = _json(quote.asset), quote.price.encode(), _json(quote.source)
        received = _json(rfc3339(quote.received_ts))
        price_head = b"".join((
            self._head, b',"asset":', asset, b',"price":', price, b',"timestamp":', received,
            b',"exchange_timestamp":', _json(rfc3339(quote.exchange_ts)), b',"source":', source,
            b',"cached":',
        ))
        item_head = b"".join((
            b'{"asset":', asset, b',"price":', price, b',"timestamp":', received,
            b',"source":', source, b',"cache_age_seconds":',
        ))
        line = f"{quote.asset}|{quote.price}|{quote.received_ts:.3f}|{quote.source}".encode()
        return QuoteBytes(quote, price_head, item_head, line)


class JsonReplies:
    def __init__(self, envelope: Envelope, quotes: QuoteCache) -> None:
        self.envelope = envelope
        self._quotes = quotes
        self._batch_status = _json(envelope.status("/prices", 200))

    def price(self, answer: Answer, elapsed_ms: int) -> bytes:
        """Byte for byte the HTTP ``GET /price`` body."""
        elapsed = str(elapsed_ms).encode()
        body = b"".join((
            self._quotes.get(answer.quote).price_head,
            b"true" if answer.cached else b"false",
            b',"cache_age_seconds":', _json(round(answer.cache_age_seconds, 3)),
            b',"cache_tier":"', answer.tier.encode(), b'","latency_ms":', elapsed,
            b',"duration_ms":', elapsed, b"}",
        ))
        if len(body) > MAX_REPLY_BYTES:  # only an absurdly long price text could do this
            return self.error("/price", BeastError(
                f"the answer for {answer.quote.asset} does not fit in one datagram",
                code="reply_too_large"))
        return body

    def batch(self, assets: Sequence[str], results: Sequence[Result]) -> bytes:
        head = b"".join((b'{"status":', self._batch_status,
                         b',"status_code":200,"endpoint":"/prices","count":',
                         str(len(assets)).encode(), b',"truncated":'))
        budget = MAX_REPLY_BYTES - len(head) - len(b'false,"prices":[]}')
        items = _fitting(budget, (self._item(a, r) for a, r in zip(assets, results, strict=True)))
        truncated = b"true" if len(items) < len(assets) else b"false"
        return b"".join((head, truncated, b',"prices":[', b",".join(items), b"]}"))

    def _item(self, asset: str, result: Result) -> bytes:
        if isinstance(result, BeastError):
            summary = result.message.partition(": ")[0]  # "no fresh price for X: <reasons>"
            return _json(BatchError(asset, result.code, _clip(summary, MAX_ITEM_MESSAGE),
                                    result.status))
        head = self._quotes.get(result.quote).item_head
        return head + _json(round(result.cache_age_seconds, 3)) + b"}"

    def error(self, endpoint: str, exc: BeastError) -> bytes:
        return self.envelope.error_body(endpoint, exc.status, exc.code,
                                        _clip(exc.message, MAX_MESSAGE), exc.retry_after)

    def short_error(self, exc: BeastError) -> bytes:
        return _json(ShortError(exc.status, exc.code, exc.retry_after))


class TextReplies:
    def __init__(self, quotes: QuoteCache) -> None:
        self._quotes = quotes

    def price(self, answer: Answer, elapsed_ms: int) -> bytes:
        line = self._quotes.get(answer.quote).line
        if len(line) > MAX_REPLY_BYTES:  # only an absurdly long price text could do this
            return self.error("/price", BeastError(
                f"the answer for {answer.quote.asset} does not fit in one datagram",
                code="reply_too_large"))
        return line

    def batch(self, assets: Sequence[str], results: Sequence[Result]) -> bytes:
        budget = MAX_REPLY_BYTES - len(f"\nMORE|{len(assets)}")
        lines = _fitting(budget, (self._line(a, r) for a, r in zip(assets, results, strict=True)))
        if len(lines) < len(assets):
            lines.append(f"MORE|{len(assets) - len(lines)}".encode())
        return b"\n".join(lines)

    def _line(self, asset: str, result: Result) -> bytes:
        if isinstance(result, BeastError):
            return f"{asset}|ERR|{result.code}".encode()
        return self._quotes.get(result.quote).line

    def error(self, endpoint: str, exc: BeastError) -> bytes:
        message = _clip(exc.message.replace("|", "/").replace("\n", " "), MAX_MESSAGE)
        line = f"ERR|{exc.code}|{message}"
        if exc.retry_after is not None:
            line += f"|{round(exc.retry_after, 3)!r}"
        return line.encode()

    def short_error(self, exc: BeastError) -> bytes:
        return f"ERR|{exc.code}".encode()


def reply_formats(envelope: Envelope) -> tuple[JsonReplies, TextReplies]:
    """The JSON and text encoders, sharing one cache of serialized quotes."""
    quotes = QuoteCache(envelope.status("/price", 200))
    return JsonReplies(envelope, quotes), TextReplies(quotes)


def _fitting(budget: int, parts: Iterable[bytes]) -> list[bytes]:
    """The leading ``parts`` whose total size, one-byte separators included, fits ``budget``."""
    kept: list[bytes] = []
    used = -1
    for part in parts:
        used += len(part) + 1
        if used > budget:
            break
        kept.append(part)
    return kept


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
