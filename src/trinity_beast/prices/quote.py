"""The one price record that flows from the feeds to every answer we give."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import msgspec

from trinity_beast.epoch import SecondTexts


class Quote(msgspec.Struct, frozen=True, gc=False):
    """The latest trade price of one asset on one exchange.

    ``price`` is the decimal text exactly as the exchange sent it (digits are never lost or
    invented); ``value`` is the same number as a float, for arithmetic such as the median.
    Times are seconds since the Unix epoch: ``exchange_ts`` when the exchange says the trade
    happened, ``received_ts`` when our process read the frame.
    """

    asset: str
    price: str
    value: float
    exchange_ts: float
    received_ts: float
    source: str


class InvalidPrice(ValueError):
    """A price text that is missing, empty, not a finite decimal, or not positive."""


_DECIMAL_TEXT = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch


def checked_price(text: object) -> tuple[str, float]:
    """Validate an exchange's price text; return it unchanged together with its float value.

    Accepts ``str`` or ``bytes`` (a raw JSON number). Raises :class:`InvalidPrice` for anything
    that is not a plain, finite, strictly positive decimal (no sign, spaces, ``NaN``, ``inf``
    or underscores). This runs once per trade, so it is a regular expression and one
    ``float()``, not a ``Decimal``; a ``str`` (the usual case) is checked first, because an
    ``isinstance`` test against the three bytes types costs as much as the digit test.
    """
    if not isinstance(text, str):
        text = _raw_price_text(text)
    if not text:
        raise InvalidPrice(f"price must be a non-empty decimal text, got {text!r}")
    plain = text.replace(".", "", 1)
    if not (plain.isdigit() and plain.isascii()) and _DECIMAL_TEXT(text) is None:
        raise InvalidPrice(f"price {text!r} is not a plain decimal number")
    value = float(text)
    if not 0.0 < value < math.inf:
        raise InvalidPrice(f"price {text!r} must be finite and greater than zero")
    return text, value


def _raw_price_text(raw: object) -> str:
    """The text of a raw JSON number (``bytes``); anything else that is not ``str`` is refused."""
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw).decode("ascii", "replace")
    raise InvalidPrice(f"price must be a non-empty decimal text, got {raw!r}")


_RFC3339_SECONDS = SecondTexts("%Y-%m-%dT%H:%M:%S.")


def rfc3339(ts: float) -> str:
    """Format epoch seconds as RFC 3339 UTC with millisecond precision (``...T12:00:00.123Z``).

    The digits are those of ``datetime.fromtimestamp(ts, UTC)``: the time is rounded to the
    microsecond (half to even), then the milliseconds are truncated.
    """
    prefix, micros = _RFC3339_SECONDS.split(ts)
    return f"{prefix}{micros // 1000:03d}Z"


_MINUTE_EPOCH: dict[str, float] = {}


def parse_rfc3339(text: str) -> float:
    """Parse an RFC 3339 time with up to nanosecond digits into epoch seconds.

    Exchange frames carry UTC times like ``2026-09-30T12:00:00.123456789Z``; those take a fast
    path (the epoch of each ``YYYY-MM-DDTHH:MM`` prefix is computed once). Anything else goes
    through :func:`_parse_rfc3339_general`. Raises ``ValueError`` for a malformed time.
    """
    if len(text) >= 20 and text[-1] in "Zz" and text[16] == ":" and text[17:19].isdigit():
        fraction = text[19:-1]
        if not fraction or (fraction[0] == "." and fraction[1:].isdigit() and fraction.isascii()):
            prefix = text[:16]
            base = _MINUTE_EPOCH.get(prefix)
            if base is None:
                base = _parse_rfc3339_general(prefix + ":00Z")
                if len(_MINUTE_EPOCH) > 4096:
                    _MINUTE_EPOCH.clear()
                _MINUTE_EPOCH[prefix] = base
            seconds = int(text[17:19])
            if seconds < 61:
                digits = fraction[1:]
                return base + seconds + (int(digits) / 10 ** len(digits) if digits else 0.0)
    return _parse_rfc3339_general(text)


def _parse_rfc3339_general(text: str) -> float:
    if not text:
        raise ValueError("empty timestamp")
    body = text.strip()
    if body.endswith(("Z", "z")):
        body = body[:-1] + "+00:00"
    frac = ""
    if "." in body:
        head, rest = body.split(".", 1)
        digits = ""
        for ch in rest:
            if ch.isdigit():
                digits += ch
            else:
                break
        tail = rest[len(digits):]
        frac = digits
        body = head + tail
    moment = datetime.fromisoformat(body)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    if frac:
        seconds += int(frac) / (10 ** len(frac))
    return seconds
