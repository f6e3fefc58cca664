"""The Gemini adapter and its replay protocol, against the recorded frames in
``tests/fixtures/exchanges/gemini`` (provenance in ``PROVENANCE.md`` there)."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from tests.conftest import EXCHANGE_FIXTURES, frames
from tests.feeds import helpers
from tests.feeds.helpers import RECEIVED
from trinity_beast.feeds.base import CONTROL, MalformedFrame, Parsed
from trinity_beast.feeds.gemini import ADAPTER, REPLAY, GeminiReplay
from trinity_beast.prices.quote import Quote

FIXTURES = EXCHANGE_FIXTURES / "gemini"
TRADES = frames(FIXTURES / "fastmm_2026-09-30_ws_trade.jsonl")
BOOK_TICKERS = frames(FIXTURES / "fastmm_2026-09-30_ws_bookTicker.jsonl")
DEPTH_UPDATES = frames(FIXTURES / "fastmm_2026-09-30_ws_depthUpdate_diff_small.jsonl")
REPLIES = frames(FIXTURES / "fastmm_2026-09-30_ws_control_replies.jsonl")
PUB_TICKERS = frames(FIXTURES / "ccxt_static_rest_v1_pubticker.jsonl")
CLOCK = 1_790_000_000.125


def edited(frame: str, **fields: Any) -> str:
    """A recorded frame with fields replaced (``None`` deletes the field)."""
    return helpers.edited_json(frame, fields, delete=None)


def test_fixture_copies_are_the_manifest_files() -> None:
    helpers.assert_fixtures_match_provenance(FIXTURES)


def test_the_registry_finds_the_module() -> None:
    helpers.assert_registered(ADAPTER, REPLAY)


def test_endpoints_tags_and_keepalive() -> None:
    assert helpers.endpoints(ADAPTER) == (
        "gemini", "gemini-ws", "gemini-rest", "wss://ws.gemini.com", "https://api.gemini.com",
        "/gemini")
    assert ADAPTER.keepalive_seconds == 30.0
    assert ADAPTER.keepalive_message() == '{"id":"ping","method":"ping"}'
    assert ADAPTER.symbol("BTC") == "btcusd"


@pytest.mark.parametrize(("frame", "quote"), [
    (TRADES[0], Quote("BTC", "83371.08000", 83371.08, 1790732616.89703, RECEIVED, "gemini-ws")),
    (TRADES[1], Quote("BTC", "83371.09000", 83371.09, 1790732618.7825243, RECEIVED, "gemini-ws")),
    (TRADES[2], Quote("BTC", "83392.59000", 83392.59, 1790732634.085587, RECEIVED, "gemini-ws")),
])
def test_trades_give_exact_quotes(frame: str, quote: Quote) -> None:
    assert ADAPTER.parse(frame, RECEIVED) == Parsed((quote,), True)
    assert ADAPTER.parse(frame.encode(), RECEIVED) == Parsed((quote,), True)


@pytest.mark.parametrize("frame", REPLIES)
def test_request_replies_are_control(frame: str) -> None:
    assert ADAPTER.parse(frame, RECEIVED) == CONTROL


@pytest.mark.parametrize("frame", [*BOOK_TICKERS, *DEPTH_UPDATES])
def test_book_frames_are_data_without_quotes(frame: str) -> None:
    assert ADAPTER.parse(frame, RECEIVED) == Parsed((), True)


@pytest.mark.parametrize("symbol", ["btcusdt", "btcgusd", "btcgusdperp", "ethbtc", "usd", "btceur"])
def test_other_symbols_are_data_without_quotes(symbol: str) -> None:
    # Derived: a recorded btcusd trade with only its symbol edited.
    assert ADAPTER.parse(edited(TRADES[0], s=symbol), RECEIVED) == Parsed((), True)


@pytest.mark.parametrize("fields", [
    {"p": ""}, {"p": None}, {"p": "abc"}, {"p": "0"}, {"p": "0.00000"}, {"p": "-83371.08"},
    {"p": "NaN"}, {"p": 83371.08}, {"p": "83371.08000 "}, {"E": None}, {"E": "1790732616"},
    {"E": 1.5}, {"s": 7}, {"t": "2840141030659933"},
])
def test_a_broken_trade_is_a_malformed_frame(fields: dict[str, Any]) -> None:
    # Derived: a recorded btcusd trade with one field edited or removed.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(edited(TRADES[0], **fields), RECEIVED)


@pytest.mark.parametrize("frame", [
    "", "{", "[]", "[{}]", "null", "42", '"btcusd"', "not json", b"\xff\xfe", '{"s":null,"t":',
    '{"x":' * 50_000,
])
def test_garbage_is_a_malformed_frame(frame: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(frame, RECEIVED)


def test_truncated_and_corrupted_frames_raise_only_malformed_frame() -> None:
    rng = random.Random(7)
    for frame in [*TRADES, *BOOK_TICKERS, *DEPTH_UPDATES, *REPLIES]:
        helpers.assert_parse_raises_only_malformed(ADAPTER, helpers.random_variants(frame, rng))


def test_subscribe_and_unsubscribe_frames() -> None:
    assert ADAPTER.subscribe_messages(["BTC", "eth", "BTC"]) == [
        '{"id":"subscribe","method":"subscribe","params":["btcusd@trade","ethusd@trade"]}']
    assert ADAPTER.unsubscribe_messages(["ETH"]) == [
        '{"id":"unsubscribe","method":"unsubscribe","params":["ethusd@trade"]}']
    assert ADAPTER.subscribe_messages([]) == []


def test_rest_pubticker_fixture_gives_last() -> None:
    assert ADAPTER.rest_ticker_path("USDC") == "/v1/pubticker/usdcusd"
    # Line 2 is the usdcusd ticker; volume.timestamp (ms) is the exchange time.
    assert ADAPTER.parse_rest_ticker(PUB_TICKERS[1].encode(), "USDC", RECEIVED) == Quote(
        "USDC", "1.00026", 1.00026, 1712847810.0, RECEIVED, "gemini-rest")


def test_rest_timestamp_may_be_a_number_or_absent() -> None:
    # Derived: the recorded usdcusd ticker with volume.timestamp as a JSON number / removed.
    as_number = PUB_TICKERS[1].replace('"timestamp":"1712847810000"', '"timestamp":1712847810000')
    without = PUB_TICKERS[1].replace(',"timestamp":"1712847810000"', "")
    assert ADAPTER.parse_rest_ticker(as_number.encode(), "USDC", RECEIVED).exchange_ts == (
        1712847810.0)
    assert ADAPTER.parse_rest_ticker(without.encode(), "USDC", RECEIVED).exchange_ts == RECEIVED


@pytest.mark.parametrize("body", [
    PUB_TICKERS[1].replace('"last":"1.00026"', '"last":""'),
    PUB_TICKERS[1].replace('"last":"1.00026",', ""),
    PUB_TICKERS[1].replace('"1712847810000"', '"soon"'),
    PUB_TICKERS[1][:40], "'usdcusd' does not have available data yet", "[]",
])
def test_a_broken_rest_answer_is_malformed(body: str) -> None:
    # Derived: the recorded ticker with one field edited or removed, or cut short.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body.encode(), "USDC", RECEIVED)


def test_replay_acks_what_the_adapter_subscribes() -> None:
    (subscribe,) = (REPLAY.handle(m) for m in ADAPTER.subscribe_messages(["BTC", "AAVE"]))
    assert subscribe.replies == ['{"id":"subscribe","status":200}']
    assert subscribe.subscribe == ["BTC", "AAVE"]
    (unsubscribe,) = (REPLAY.handle(m) for m in ADAPTER.unsubscribe_messages(["AAVE"]))
    assert unsubscribe.replies == ['{"id":"unsubscribe","status":200}']
    assert unsubscribe.unsubscribe == ["AAVE"]
    helpers.assert_control(ADAPTER, [*subscribe.replies, *unsubscribe.replies])


def test_replay_answers_ping_and_time_as_recorded() -> None:
    replay = GeminiReplay(clock=lambda: CLOCK)
    assert replay.handle(ADAPTER.keepalive_message()).replies == [REPLIES[2]]
    assert replay.handle('{"id":"time","method":"time"}').replies == [
        '{"id":"time","status":200,"result":{"serverTime":1790000000125}}']
    assert replay.heartbeat_seconds is None
    assert replay.heartbeat() is None
    assert replay.greeting() == []


def test_replay_ignores_streams_it_does_not_serve() -> None:
    reply = REPLAY.handle(
        '{"id":7,"method":"subscribe","params":["btcusd@bookTicker","btcusdt@trade","ethusd@trade"]}')
    assert reply.replies == ['{"id":7,"status":200}']
    assert reply.subscribe == ["ETH"]


@pytest.mark.parametrize(("request_text", "reply"), [
    ("{", '{"id":null,"status":400,"error":{"code":-1000,"msg":"Malformed request"}}'),
    ('{"id":"x","method":"fly"}', '{"id":"x","status":400,"error":{"code":-1000,'
                                  '"msg":"Unknown method"}}'),
])
def test_replay_refuses_what_it_cannot_read(request_text: str, reply: str) -> None:
    answer = REPLAY.handle(request_text)
    assert answer.replies == [reply]
    assert (answer.subscribe, answer.unsubscribe) == ((), ())
    assert ADAPTER.parse(reply, RECEIVED) == CONTROL


def test_replay_rest_ticker_round_trip() -> None:
    replay = GeminiReplay(clock=lambda: CLOCK)
    answer = replay.rest_ticker(ADAPTER.rest_ticker_path("AAVE"), {"AAVE": "165.12000"})
    assert answer == (200, '{"bid":"165.12000","ask":"165.12000","last":"165.12000","volume":'
                           '{"AAVE":"3.5434218","USD":"259620.278863632","timestamp":"1790000000125"}}')
    assert ADAPTER.parse_rest_ticker(answer[1].encode(), "AAVE", RECEIVED) == Quote(
        "AAVE", "165.12000", 165.12, 1790000000.125, RECEIVED, "gemini-rest")
    assert replay.rest_ticker("/v1/pubticker/BTCUSD", {"BTC": "1"}) is not None


def test_replay_rest_ticker_refusals() -> None:
    assert REPLAY.rest_ticker("/v1/pubticker/xyzusd", {"BTC": "1"}) == (
        404, "'xyzusd' does not have available data yet")
    assert REPLAY.rest_ticker("/v1/pubticker/btcgusdperp", {"BTC": "1"}) == (
        404, "'btcgusdperp' does not have available data yet")
    assert REPLAY.rest_ticker("/0/public/Ticker?pair=XBTUSD", {"BTC": "1"}) is None


def test_default_replay_file_covers_every_prewarm_asset() -> None:
    lines = helpers.default_replay_lines("gemini")
    template_keys = list(msgspec.json.decode(TRADES[0]))
    for line in lines:
        assert list(msgspec.json.decode(line)) == template_keys
    counts = helpers.quote_counts(ADAPTER, lines, "gemini-ws")
    assert set(counts) == set(helpers.prewarm_assets("gemini"))
    assert min(counts.values()) >= 6
