"""The JSON body of a price answer, and the texts it reuses while a quote stays the latest."""

from __future__ import annotations

import msgspec

from tests.prices.helpers import quote
from trinity_beast.api.price_view import encode, price_body, price_item
from trinity_beast.prices.lookup import Answer


def _body(answer: Answer) -> dict[str, object]:
    decoded = msgspec.json.decode(encode(price_body("ok", "/price", answer, 0)))
    assert isinstance(decoded, dict)
    return decoded


def test_a_body_carries_the_exchange_digits_and_both_times() -> None:
    first = quote("BTC", "83371.08000", at=1790769600.1239, exchange_ts=1790769599.5)
    assert encode(price_body("ok", "/price", Answer(first, "L1_MEMORY", True, 0.25), 3)) == (
        b'{"status":"ok","status_code":200,"endpoint":"/price","asset":"BTC",'
        b'"price":83371.08000,"timestamp":"2026-09-30T12:00:00.123Z",'
        b'"exchange_timestamp":"2026-09-30T11:59:59.500Z","source":"coinbase-ws",'
        b'"cached":true,"cache_age_seconds":0.25,"cache_tier":"L1_MEMORY",'
        b'"latency_ms":3,"duration_ms":3}')


def test_the_next_quote_of_an_asset_gets_its_own_texts() -> None:
    first = quote("ETH", "2646.98", at=1790769600.0)
    later = quote("ETH", "2647.10", at=1790769601.5)
    back = quote("ETH", "2646.98", at=1790769602.0)
    assert _body(Answer(first, "L1_MEMORY", True, 0.0))["timestamp"] == "2026-09-30T12:00:00.000Z"
    assert _body(Answer(first, "L1_MEMORY", True, 1.0))["price"] == 2646.98  # reused
    body = _body(Answer(later, "L1_MEMORY", True, 0.0))
    assert (body["price"], body["timestamp"]) == (2647.10, "2026-09-30T12:00:01.500Z")
    body = _body(Answer(back, "L1_MEMORY", True, 0.0))
    assert (body["price"], body["timestamp"]) == (2646.98, "2026-09-30T12:00:02.000Z")


def test_a_batch_item_shows_the_same_texts() -> None:
    item = price_item(Answer(quote("SOL", "0.0870850", at=1790769600.25), "L2_VALKEY", True, 2.0))
    assert encode(item) == (
        b'{"asset":"SOL","price":0.0870850,"timestamp":"2026-09-30T12:00:00.250Z",'
        b'"exchange_timestamp":"2026-09-30T12:00:00.250Z","source":"coinbase-ws",'
        b'"cached":true,"cache_age_seconds":2.0,"cache_tier":"L2_VALKEY"}')
