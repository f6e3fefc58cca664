"""Encoding replies: byte-identical to HTTP for one asset, never above one datagram for many."""

from __future__ import annotations

import json

import pytest

from tests.prices.helpers import quote
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.price_view import encode, price_body
from trinity_beast.errors import BeastError, NotFound, TooManyRequests, Unauthorized, Unavailable
from trinity_beast.prices.lookup import Answer
from trinity_beast.udp.replies import MAX_REPLY_BYTES, Result, reply_formats

NOW = 1_767_225_600.0
ENVELOPE = Envelope("LPO", "us-east-2", "BeastMain")
BTC = Answer(quote("BTC", "83421.57", "coinbase-ws", at=NOW - 4.2), "L1_MEMORY", True, 4.2)


@pytest.mark.parametrize("answer", [
    BTC,
    Answer(quote("ETH", "2649.36", "coinbase-rest", at=NOW), "L3_REST", False, 0.0),
    Answer(quote("SOL", "150.250", "okx-ws", at=NOW - 9.87654, exchange_ts=NOW - 11),
           "L2_VALKEY", True, 9.87654),
    Answer(quote("PEPE", "0.0000012345", "kraken-prewarm", at=NOW - 1234.5),
           "L1_MEMORY", True, 1234.5),
])
@pytest.mark.parametrize("elapsed_ms", [0, 7, 1234])
def test_json_price_is_byte_identical_to_http(answer: Answer, elapsed_ms: int) -> None:
    json_replies, _ = reply_formats(ENVELOPE)
    expected = encode(price_body(ENVELOPE.status("/price", 200), "/price", answer, elapsed_ms))
    assert json_replies.price(answer, elapsed_ms) == expected
    assert json_replies.price(answer, elapsed_ms) == expected  # second time from the cache


def test_cached_parts_follow_a_new_quote() -> None:
    json_replies, text = reply_formats(ENVELOPE)
    assert text.price(BTC, 0) == b"BTC|83421.57|1767225595.800|coinbase-ws"
    newer = Answer(quote("BTC", "83500", "gemini-ws", at=NOW), "L1_MEMORY", True, 0.0)
    assert text.price(newer, 0) == b"BTC|83500|1767225600.000|gemini-ws"
    assert b'"price":83500,' in json_replies.price(newer, 0)


def test_json_batch_exact() -> None:
    json_replies, _ = reply_formats(ENVELOPE)
    results: list[Result] = [BTC, NotFound("no exchange lists NOPE", code="unknown_asset"),
                             Unavailable("no fresh price for ADA: gemini: HTTP 503",
                                         code="no_price")]
    assert json.loads(json_replies.batch(["BTC", "NOPE", "ADA"], results)) == {
        "status": "✅ [LPO] [us-east-2] [BeastMain] [/prices] [200]",
        "status_code": 200, "endpoint": "/prices", "count": 3, "truncated": False,
        "prices": [
            {"asset": "BTC", "price": 83421.57, "timestamp": "2025-12-31T23:59:55.800Z",
             "source": "coinbase-ws", "cache_age_seconds": 4.2},
            {"asset": "NOPE", "error": "unknown_asset", "message": "no exchange lists NOPE",
             "status_code": 404},
            {"asset": "ADA", "error": "no_price", "message": "no fresh price for ADA",
             "status_code": 503},
        ],
    }


def long_answers(count: int) -> tuple[list[str], list[Result]]:
    """``count`` distinct 20-character assets with long prices: the worst case we can get."""
    assets = [f"{i:02d}".ljust(20, "X") for i in range(count)]
    results: list[Result] = [
        Answer(quote(a, "0.00000000123456789012345", "kraken-prewarm", at=NOW - 99999.999),
               "L1_MEMORY", True, 99999.999)
        for a in assets
    ]
    return assets, results


def test_json_batch_of_30_long_assets_fits_one_datagram() -> None:
    json_replies, _ = reply_formats(ENVELOPE)
    assets, results = long_answers(30)
    reply = json_replies.batch(assets, results)
    body = json.loads(reply)
    kept = len(body["prices"])
    assert len(reply) <= MAX_REPLY_BYTES
    assert body["count"] == 30 and body["truncated"] is True
    assert [item["asset"] for item in body["prices"]] == assets[:kept]  # a prefix, in order
    one_more = json.loads(json_replies.batch(assets[:kept + 1], results[:kept + 1]))
    assert len(one_more["prices"]) == kept  # the next item would not have fitted
    assert json.loads(json_replies.batch(assets[:kept], results[:kept]))["truncated"] is False


def test_json_batch_of_30_errors_fits_one_datagram() -> None:
    json_replies, _ = reply_formats(ENVELOPE)
    assets = [f"{i:02d}".ljust(20, "Z") for i in range(30)]
    errors: list[Result] = [Unavailable(f"no fresh price for {a}: " + "x" * 500, code="no_price")
                            for a in assets]
    reply = json_replies.batch(assets, errors)
    assert len(reply) <= MAX_REPLY_BYTES
    first = json.loads(reply)["prices"][0]
    assert first == {"asset": assets[0], "error": "no_price",
                     "message": f"no fresh price for {assets[0]}", "status_code": 503}


def test_text_batch_of_30_long_assets_fits_and_says_how_many_are_missing() -> None:
    _, text = reply_formats(ENVELOPE)
    assets, results = long_answers(30)
    reply = text.batch(assets, results)
    lines = reply.split(b"\n")
    assert len(reply) <= MAX_REPLY_BYTES
    kept = len(lines) - 1
    assert lines[-1] == f"MORE|{30 - kept}".encode()
    assert lines[0].decode() == (
        f"{assets[0]}|0.00000000123456789012345|1767125600.001|kraken-prewarm")


def test_text_batch_of_30_usual_assets_fits_whole() -> None:
    _, text = reply_formats(ENVELOPE)
    assets = [f"AS{i:02d}" for i in range(29)] + ["NOPE"]
    results: list[Result] = [Answer(quote(a, "12345.678", "coinbase-ws", at=NOW), "L1_MEMORY",
                                    True, 0.0) for a in assets[:29]]
    results.append(NotFound("no exchange lists NOPE", code="unknown_asset"))
    lines = text.batch(assets, results).split(b"\n")
    assert len(lines) == 30
    assert lines[0] == b"AS00|12345.678|1767225600.000|coinbase-ws"
    assert lines[-1] == b"NOPE|ERR|unknown_asset"


def test_error_forms() -> None:
    json_replies, text = reply_formats(ENVELOPE)
    limited = TooManyRequests("rate limit exceeded", code="rate_limited", retry_after=0.5)
    assert json.loads(json_replies.error("/prices", limited)) == {
        "status": "❌ [LPO] [us-east-2] [BeastMain] [/prices] [429]", "status_code": 429,
        "endpoint": "/prices", "error": "rate_limited", "message": "rate limit exceeded",
        "retry_after": 0.5,
    }
    assert json_replies.short_error(limited) == (
        b'{"status_code":429,"error":"rate_limited","retry_after":0.5}')
    assert text.error("/price", limited) == b"ERR|rate_limited|rate limit exceeded|0.5"
    assert text.short_error(limited) == b"ERR|rate_limited"
    invalid = Unauthorized("that API key is not valid", code="invalid_api_key")
    assert json_replies.short_error(invalid) == b'{"status_code":401,"error":"invalid_api_key"}'
    assert text.error("/price", invalid) == b"ERR|invalid_api_key|that API key is not valid"


def test_error_messages_are_clipped_and_kept_on_one_line() -> None:
    json_replies, text = reply_formats(ENVELOPE)
    long = BeastError("a|b\nc" + "x" * 1000, code="bad_request")
    assert text.error("/price", long) == b"ERR|bad_request|a/b c" + b"x" * 192 + b"..."
    body = json.loads(json_replies.error("/price", long))
    assert len(body["message"]) == 200 and body["message"].endswith("...")


def test_an_absurd_price_text_becomes_an_error_not_a_giant_datagram() -> None:
    json_replies, text = reply_formats(ENVELOPE)
    digits = "1." + "0" * 1500
    huge = Answer(quote("BTC", digits, "coinbase-ws", at=NOW), "L1_MEMORY", True, 0.0)
    body = json.loads(json_replies.price(huge, 0))
    assert body["error"] == "reply_too_large" and body["status_code"] == 500
    assert text.price(huge, 0) == (
        b"ERR|reply_too_large|the answer for BTC does not fit in one datagram")
