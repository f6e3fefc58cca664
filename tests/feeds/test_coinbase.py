"""The Coinbase adapter and its replay protocol, against the recorded frames in
``tests/fixtures/exchanges/coinbase`` (provenance in ``PROVENANCE.md`` there)."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from tests.conftest import EXCHANGE_FIXTURES, frames
from tests.feeds import helpers
from tests.feeds.helpers import RECEIVED
from trinity_beast.feeds.base import CONTROL, MalformedFrame, Parsed
from trinity_beast.feeds.coinbase import ADAPTER, REPLAY, CoinbaseReplay
from trinity_beast.prices.quote import Quote

FIXTURES = EXCHANGE_FIXTURES / "coinbase"
TRADES = frames(FIXTURES / "fastmm_2026-09-30_ws_market_trades.jsonl")
BTC_USD = frames(FIXTURES / "unattributed-id54863319618_2026-06-14_ws_BTC-USD.jsonl")
CONTROL_FRAMES = frames(FIXTURES / "unattributed-id69468305406_2026-09-05_ws_control.jsonl")
TICKERS_INTX = frames(FIXTURES / "unattributed-id69468305406_2026-09-05_ws_ticker_INTX.jsonl")
REST_PRODUCT = (FIXTURES / "fastmm_2026-09-30_rest_v3_market_products_BTC-USD.json").read_bytes()
CLOCK = 1_790_000_000.125


def edited(frame: str, **trade_fields: Any) -> str:
    """A recorded frame with fields of its first trade replaced (``None`` deletes the field)."""
    return helpers.edited_json(frame, trade_fields, "events", 0, "trades", 0, delete=None)


def test_fixture_copies_are_the_manifest_files() -> None:
    helpers.assert_fixtures_match_provenance(FIXTURES)


def test_the_registry_finds_the_module() -> None:
    helpers.assert_registered(ADAPTER, REPLAY)


def test_endpoints_and_tags() -> None:
    assert helpers.endpoints(ADAPTER) == (
        "coinbase", "coinbase-ws", "coinbase-rest", "wss://advanced-trade-ws.coinbase.com",
        "https://api.coinbase.com", "/coinbase")
    assert ADAPTER.keepalive_seconds is None
    assert ADAPTER.keepalive_message() is None
    assert ADAPTER.symbol("btc") == "BTC-USD"


def test_market_trades_updates_give_exact_quotes() -> None:
    assert ADAPTER.parse(TRADES[0], RECEIVED) == Parsed(
        (Quote("ETH", "2667.2", 2667.2, 1790735999.4104, RECEIVED, "coinbase-ws"),), True)
    assert ADAPTER.parse(TRADES[1].encode(), RECEIVED) == Parsed(
        (Quote("BTC", "83320.66", 83320.66, 1790735999.416138, RECEIVED, "coinbase-ws"),), True)


def test_market_trades_snapshot_gives_its_latest_trade() -> None:
    assert ADAPTER.parse(BTC_USD[2], RECEIVED) == Parsed(
        (Quote("BTC", "64340.74", 64340.74, 1781416457.799285, RECEIVED, "coinbase-ws"),), True)


@pytest.mark.parametrize("frame", [*CONTROL_FRAMES, BTC_USD[1]])
def test_acks_heartbeats_and_errors_are_control(frame: str) -> None:
    assert ADAPTER.parse(frame, RECEIVED) == CONTROL


@pytest.mark.parametrize("frame", [BTC_USD[0], *TICKERS_INTX])
def test_ticker_frames_are_data_without_quotes(frame: str) -> None:
    assert ADAPTER.parse(frame, RECEIVED) == Parsed((), True)


@pytest.mark.parametrize("product", ["BTC-PERP-INTX", "BTC-USDC", "BTC-EUR", "-USD", "BTC-USDT"])
def test_other_products_are_data_without_quotes(product: str) -> None:
    # Derived: the recorded BTC-USD trade with only its product_id edited.
    assert ADAPTER.parse(edited(TRADES[1], product_id=product), RECEIVED) == Parsed((), True)


def test_one_quote_per_asset_the_latest_trade_wins() -> None:
    # Derived: the recorded BTC-USD frame with three more trades appended (edited copies).
    message = msgspec.json.decode(TRADES[1])
    first = message["events"][0]["trades"][0]
    later = first | {"price": "83321.5", "time": "2026-09-30T02:39:59.5Z"}
    tie = first | {"price": "83319.01", "time": "2026-09-30T02:39:59.5Z"}
    eth = first | {"product_id": "ETH-USD", "price": "2667.25"}
    message["events"][0]["trades"] = [later, first, tie, eth]
    parsed = ADAPTER.parse(msgspec.json.encode(message), RECEIVED)
    assert parsed == Parsed((
        Quote("BTC", "83319.01", 83319.01, 1790735999.5, RECEIVED, "coinbase-ws"),
        Quote("ETH", "2667.25", 2667.25, 1790735999.416138, RECEIVED, "coinbase-ws"),
    ), True)


@pytest.mark.parametrize("fields", [
    {"price": ""}, {"price": None}, {"price": "abc"}, {"price": "0"}, {"price": "-83320.66"},
    {"price": "NaN"}, {"price": "Infinity"}, {"price": 83320.66}, {"price": " 83320.66"},
    {"time": "yesterday"}, {"time": ""}, {"time": None}, {"product_id": None},
    {"product_id": 7},
])
def test_a_broken_trade_is_a_malformed_frame(fields: dict[str, Any]) -> None:
    # Derived: the recorded BTC-USD trade with one field edited or removed.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(edited(TRADES[1], **fields), RECEIVED)


def test_one_broken_trade_spoils_the_whole_frame() -> None:
    # Derived: the recorded frame plus an edited copy of its trade with an empty price.
    message = msgspec.json.decode(TRADES[1])
    trades = message["events"][0]["trades"]
    trades.append(trades[0] | {"product_id": "BTC-EUR", "price": ""})
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(msgspec.json.encode(message), RECEIVED)


@pytest.mark.parametrize("frame", [
    "", "{", "[]", "null", "42", '"market_trades"', "not json", b"\xff\xfe",
    '{"channel":"market_trades"}', '{"channel":"market_trades","events":{}}',
    '{"channel":"market_trades","events":[{"trades":{}}]}', '{"channel":7}',
    '{"x":' * 50_000,
])
def test_garbage_is_a_malformed_frame(frame: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(frame, RECEIVED)


def test_truncated_and_corrupted_frames_raise_only_malformed_frame() -> None:
    rng = random.Random(7)
    for frame in [*TRADES, *BTC_USD, *CONTROL_FRAMES, *TICKERS_INTX]:
        helpers.assert_parse_raises_only_malformed(ADAPTER, helpers.random_variants(frame, rng))


def test_subscribe_and_unsubscribe_frames() -> None:
    assert ADAPTER.subscribe_messages(["BTC", "eth", "BTC"]) == [
        '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"market_trades"}',
        '{"type":"subscribe","channel":"heartbeats"}',
    ]
    assert ADAPTER.unsubscribe_messages(["ETH"]) == [
        '{"type":"unsubscribe","product_ids":["ETH-USD"],"channel":"market_trades"}']
    assert ADAPTER.subscribe_messages([]) == []
    assert ADAPTER.unsubscribe_messages([]) == []


def test_rest_product_fixture_gives_its_price() -> None:
    assert ADAPTER.rest_ticker_path("BTC") == "/api/v3/brokerage/market/products/BTC-USD"
    assert ADAPTER.parse_rest_ticker(REST_PRODUCT, "BTC", RECEIVED) == Quote(
        "BTC", "83306.04", 83306.04, RECEIVED, RECEIVED, "coinbase-rest")


@pytest.mark.parametrize("body", [
    REST_PRODUCT.replace(b'"price":"83306.04"', b'"price":""'),
    REST_PRODUCT.replace(b'"price":"83306.04", ', b""),
    REST_PRODUCT.replace(b'"product_id":"BTC-USD"', b'"product_id":"ETH-USD"'),
    REST_PRODUCT[:100], b"", b"[]",
])
def test_a_broken_rest_answer_is_malformed(body: bytes) -> None:
    # Derived: the recorded product answer with one field edited, removed, or cut short.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body, "BTC", RECEIVED)


def test_replay_acks_what_the_adapter_subscribes() -> None:
    replay = CoinbaseReplay(clock=lambda: CLOCK)
    trades, heartbeats = (replay.handle(m) for m in ADAPTER.subscribe_messages(["BTC", "ETH"]))
    assert trades.subscribe == ["BTC", "ETH"]
    assert trades.replies == [
        '{"channel":"subscriptions","timestamp":"2026-09-21T14:13:20.125Z","sequence_num":3,'
        '"events":[{"subscriptions":{"market_trades":["BTC-USD","ETH-USD"]}}]}']
    assert list(heartbeats.subscribe) == []
    assert heartbeats.replies == [
        '{"channel":"subscriptions","timestamp":"2026-09-21T14:13:20.125Z","sequence_num":3,'
        '"events":[{"subscriptions":{"heartbeats":["heartbeats"]}}]}']
    (unsubscribe,) = (replay.handle(m) for m in ADAPTER.unsubscribe_messages(["ETH"]))
    assert unsubscribe.unsubscribe == ["ETH"]
    helpers.assert_control(ADAPTER, [*trades.replies, *heartbeats.replies, *unsubscribe.replies])


def test_replay_heartbeat_follows_the_recorded_frame() -> None:
    replay = CoinbaseReplay(clock=lambda: CLOCK)
    assert replay.heartbeat_seconds == 1.0
    assert replay.heartbeat() == (
        '{"channel":"heartbeats","timestamp":"2026-09-21T14:13:20.125Z","sequence_num":4,'
        '"events":[{"current_time":"2026-09-21 14:13:20.125 +0000 UTC'
        ' m=+139651.272674714","heartbeat_counter":139651}]}')
    assert ADAPTER.parse(replay.heartbeat(), RECEIVED) == CONTROL
    assert replay.greeting() == []


@pytest.mark.parametrize("request_text", [
    "{", '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level9"}',
    '{"type":"ping"}', '{"product_ids":["BTC-USD"]}',
])
def test_replay_refuses_what_it_cannot_serve(request_text: str) -> None:
    reply = REPLAY.handle(request_text)
    assert reply.replies == [CONTROL_FRAMES[3]]
    assert (reply.subscribe, reply.unsubscribe) == ((), ())
    assert ADAPTER.parse(reply.replies[0], RECEIVED) == CONTROL


def test_replay_rest_ticker_round_trip() -> None:
    status, body = helpers.rest_answer(REPLAY, ADAPTER.rest_ticker_path("ETH"), {"ETH": "2650.125"})
    assert status == 200
    assert list(msgspec.json.decode(body)) == list(msgspec.json.decode(REST_PRODUCT))
    assert ADAPTER.parse_rest_ticker(body.encode(), "ETH", RECEIVED) == Quote(
        "ETH", "2650.125", 2650.125, RECEIVED, RECEIVED, "coinbase-rest")


def test_replay_rest_ticker_refusals() -> None:
    not_found = (404, '{"error":"NOT_FOUND","error_details":"valid product_id is required",'
                      '"message":"valid product_id is required"}')
    assert REPLAY.rest_ticker(ADAPTER.rest_ticker_path("XYZ"), {"BTC": "1"}) == not_found
    assert REPLAY.rest_ticker("/api/v3/brokerage/market/products/BTC-EUR", {"BTC": "1"}) == (
        not_found)
    assert REPLAY.rest_ticker("/v1/pubticker/btcusd", {"BTC": "1"}) is None


def test_default_replay_file_covers_every_prewarm_asset() -> None:
    lines = helpers.default_replay_lines("coinbase")
    template = msgspec.json.decode(TRADES[1])
    for line in lines:
        message = msgspec.json.decode(line)
        assert list(message) == list(template)
        assert list(message["events"][0]["trades"][0]) == list(
            template["events"][0]["trades"][0])
    counts = helpers.quote_counts(ADAPTER, lines, "coinbase-ws")
    assert set(counts) == set(helpers.prewarm_assets("coinbase"))
    assert min(counts.values()) >= 6
