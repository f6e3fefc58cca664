"""The Kraken adapter and its replay protocol, against the recorded frames in
``tests/fixtures/exchanges/kraken`` (provenance in ``PROVENANCE.md`` there)."""

from __future__ import annotations

import random

import msgspec
import pytest

from tests.conftest import EXCHANGE_FIXTURES, frames
from tests.feeds import helpers
from tests.feeds.helpers import RECEIVED
from trinity_beast.feeds.base import CONTROL, MalformedFrame, Parsed
from trinity_beast.feeds.kraken import ADAPTER, REPLAY, KrakenReplay
from trinity_beast.prices.quote import Quote

FIXTURES = EXCHANGE_FIXTURES / "kraken"
(TRADE,) = frames(FIXTURES / "krakenapi_2026-03-15_ws_trade.jsonl")
(USDT_TRADES,) = frames(FIXTURES / "unattributed-id6404436662_2025-07-23_ws_trade_BTC-USDT.jsonl")
(HEARTBEAT,) = frames(FIXTURES / "krakenapi_2026-03-15_ws_heartbeat.jsonl")
(STATUS,) = frames(FIXTURES / "krakenapi_2026-03-15_ws_status.jsonl")
(ACK,) = frames(FIXTURES / "krakenapi_2026-03-15_ws_subscribe_ack.jsonl")
(TICKER,) = frames(FIXTURES / "krakenapi_2026-03-15_ws_ticker.jsonl")
STATUS_2, ACK_2, TICKER_2 = frames(
    FIXTURES / "unattributed-id71386173628_2026-10-03_ws_frames.jsonl")
REST_TICKER = (
    FIXTURES / "unattributed-id68478268746_2026-09-25_rest_Ticker_pair-XBTUSD.json").read_bytes()
CLOCK = 1_790_000_000.125
PREWARM_ASSETS = helpers.prewarm_assets("kraken")


def test_fixture_copies_are_the_manifest_files() -> None:
    helpers.assert_fixtures_match_provenance(FIXTURES)


def test_the_registry_finds_the_module() -> None:
    helpers.assert_registered(ADAPTER, REPLAY)


def test_endpoints_tags_and_keepalive() -> None:
    assert helpers.endpoints(ADAPTER) == (
        "kraken", "kraken-ws", "kraken-rest", "wss://ws.kraken.com/v2", "https://api.kraken.com",
        "/kraken/v2")
    assert ADAPTER.keepalive_seconds == 30.0
    assert ADAPTER.keepalive_message() == '{"method":"ping"}'


def test_symbols_use_v2_codes_and_phala_is_pha() -> None:
    assert [ADAPTER.symbol(a) for a in ("btc", "DOGE", "ALGO", "PHALA")] == [
        "BTC/USD", "DOGE/USD", "ALGO/USD", "PHA/USD"]


def test_trade_update_gives_an_exact_quote() -> None:
    assert ADAPTER.parse(TRADE, RECEIVED) == Parsed(
        (Quote("BTC", "71749.0", 71749.0, 1773573983.023215, RECEIVED, "kraken-ws"),), True)
    assert ADAPTER.parse(TRADE.encode(), RECEIVED).quotes[0].price == "71749.0"


def test_usdt_trades_are_data_without_quotes() -> None:
    assert ADAPTER.parse(USDT_TRADES, RECEIVED) == Parsed((), True)


def test_a_batch_gives_one_quote_the_last_of_equal_times() -> None:
    # Derived: the recorded 3-trade BTC/USDT batch with "BTC/USDT" edited to "BTC/USD".
    batch = USDT_TRADES.replace('"BTC/USDT"', '"BTC/USD"')
    assert ADAPTER.parse(batch, RECEIVED) == Parsed(
        (Quote("BTC", "118837.5", 118837.5, 1753245706.919844, RECEIVED, "kraken-ws"),), True)


def test_a_batch_gives_the_latest_trade_per_asset() -> None:
    # Derived: the recorded batch with symbols edited and one time moved later.
    batch = (USDT_TRADES.replace('"BTC/USDT"', '"BTC/USD"', 2)
             .replace('"BTC/USDT"', '"PHA/USD"')
             .replace('"2025-07-23T04:41:46.919844Z"', '"2025-07-23T04:41:47Z"', 1))
    assert ADAPTER.parse(batch, RECEIVED) == Parsed((
        Quote("BTC", "118832.9", 118832.9, 1753245707.0, RECEIVED, "kraken-ws"),
        Quote("PHALA", "118837.5", 118837.5, 1753245706.919844, RECEIVED, "kraken-ws"),
    ), True)


@pytest.mark.parametrize("number", ["5.1e-05", "0.13110", "1E+2", "118837"])
def test_the_price_keeps_the_exchange_text(number: str) -> None:
    # Derived: the recorded trade with its price number rewritten.
    frame = TRADE.replace('"price":71749.0', f'"price":{number}')
    (quote,) = ADAPTER.parse(frame, RECEIVED).quotes
    assert (quote.price, quote.value) == (number, float(number))


@pytest.mark.parametrize("frame", [HEARTBEAT, STATUS, ACK, STATUS_2, ACK_2])
def test_heartbeat_status_and_acks_are_control(frame: str) -> None:
    assert ADAPTER.parse(frame, RECEIVED) == CONTROL


@pytest.mark.parametrize("frame", [TICKER, TICKER_2])
def test_ticker_frames_are_data_without_quotes(frame: str) -> None:
    assert ADAPTER.parse(frame, RECEIVED) == Parsed((), True)


@pytest.mark.parametrize(("old", "new"), [
    ('"price":71749.0', '"price":"71749.0"'), ('"price":71749.0', '"price":null'),
    ('"price":71749.0', '"price":0'), ('"price":71749.0', '"price":-71749.0'),
    ('"price":71749.0', '"price":0.0'), ('"price":71749.0,', ""),
    ('"price":71749.0', '"price":[71749.0]'), ('"price":71749.0', '"price":true'),
    ('"2026-03-15T11:26:23.023215Z"', '"15 March"'), ('"2026-03-15T11:26:23.023215Z"', "1"),
    ('"symbol":"BTC/USD",', ""), ('"symbol":"BTC/USD"', '"symbol":["BTC/USD"]'),
])
def test_a_broken_trade_is_a_malformed_frame(old: str, new: str) -> None:
    # Derived: the recorded trade with one field edited or removed.
    frame = TRADE.replace(old, new, 1)
    assert frame != TRADE
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(frame, RECEIVED)


def test_one_broken_trade_spoils_the_whole_batch() -> None:
    # Derived: the recorded batch with the second trade's price edited to zero.
    batch = USDT_TRADES.replace('"BTC/USDT"', '"BTC/USD"').replace("118837.0", "0")
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(batch, RECEIVED)


@pytest.mark.parametrize("frame", [
    "", "{", "[]", "null", "42", '"trade"', "not json", b"\xff\xfe", '{"channel":"trade"}',
    '{"channel":"trade","data":{}}', '{"channel":"trade","data":[1]}', '{"channel":5}',
    '{"x":' * 50_000,
])
def test_garbage_is_a_malformed_frame(frame: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(frame, RECEIVED)


def test_truncated_and_corrupted_frames_raise_only_malformed_frame() -> None:
    rng = random.Random(7)
    for frame in [TRADE, USDT_TRADES, HEARTBEAT, STATUS, ACK, TICKER, STATUS_2, ACK_2, TICKER_2]:
        helpers.assert_parse_raises_only_malformed(ADAPTER, helpers.random_variants(frame, rng))


def test_subscribe_and_unsubscribe_frames() -> None:
    assert ADAPTER.subscribe_messages(["BTC", "phala", "BTC"]) == [
        '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","PHA/USD"],'
        '"snapshot":false}}']
    assert ADAPTER.unsubscribe_messages(["ALGO"]) == [
        '{"method":"unsubscribe","params":{"channel":"trade","symbol":["ALGO/USD"]}}']
    assert ADAPTER.subscribe_messages([]) == []


def test_rest_ticker_fixture_gives_the_last_trade() -> None:
    assert ADAPTER.rest_ticker_path("BTC") == "/0/public/Ticker?pair=XBTUSD"
    assert ADAPTER.parse_rest_ticker(REST_TICKER, "BTC", RECEIVED) == Quote(
        "BTC", "84036.00000", 84036.0, RECEIVED, RECEIVED, "kraken-rest")


def test_rest_batch_maps_internal_names_back_to_assets() -> None:
    assert ADAPTER.rest_batch_path(["BTC", "ALGO", "DOGE", "PHALA"]) == (
        "/0/public/Ticker?pair=XBTUSD,ALGOUSD,XDGUSD,PHAUSD")
    # Derived: the recorded answer plus a copy of its entry under the altname ALGOUSD.
    answer = msgspec.json.decode(REST_TICKER)
    entry = answer["result"]["XXBTZUSD"]
    answer["result"]["ALGOUSD"] = entry | {"c": ["0.13110", "100"]}
    answer["result"]["XETHZUSD"] = entry  # not asked for: ignored
    body = msgspec.json.encode(answer)
    assert ADAPTER.parse_rest_batch(body, ["BTC", "ALGO", "DOGE"], RECEIVED) == [
        Quote("BTC", "84036.00000", 84036.0, RECEIVED, RECEIVED, "kraken-prewarm"),
        Quote("ALGO", "0.13110", 0.1311, RECEIVED, RECEIVED, "kraken-prewarm"),
    ]


@pytest.mark.parametrize("body", [
    b'{"error":["EQuery:Unknown asset pair"],"result":{}}',
    b'{"error":["EGeneral:Too many requests"]}',
    REST_TICKER.replace(b'"c":["84036.00000","0.00112355"]', b'"c":["","0.00112355"]'),
    REST_TICKER.replace(b'"c":["84036.00000","0.00112355"]', b'"c":[]'),
    REST_TICKER.replace(b'"c":["84036.00000","0.00112355"],', b""),
    REST_TICKER[:60], b"", b"[]",
])
def test_a_broken_rest_answer_is_malformed(body: bytes) -> None:
    # Derived: error answers, and the recorded answer with its last trade edited or cut short.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body, "BTC", RECEIVED)
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_batch(body, ["BTC"], RECEIVED)


def test_replay_greets_with_the_recorded_status_and_beats() -> None:
    assert REPLAY.greeting() == [STATUS]
    assert REPLAY.heartbeat() == HEARTBEAT
    assert REPLAY.heartbeat_seconds == 1.0


def test_replay_acks_every_symbol_the_adapter_subscribes() -> None:
    replay = KrakenReplay(clock=lambda: CLOCK)
    (subscribe,) = (replay.handle(m) for m in ADAPTER.subscribe_messages(["ALGO", "PHALA"]))
    assert subscribe.subscribe == ["ALGO", "PHALA"]
    assert subscribe.replies == [
        f'{{"method":"subscribe","result":{{"channel":"trade","snapshot":false,'
        f'"symbol":"{symbol}"}},"success":true,"time_in":"2026-09-21T14:13:20.125000Z",'
        f'"time_out":"2026-09-21T14:13:20.125000Z"}}'
        for symbol in ("ALGO/USD", "PHA/USD")
    ]
    (unsubscribe,) = (replay.handle(m) for m in ADAPTER.unsubscribe_messages(["ALGO"]))
    assert unsubscribe.unsubscribe == ["ALGO"]
    assert unsubscribe.replies == [
        '{"method":"unsubscribe","result":{"channel":"trade","symbol":"ALGO/USD"},"success":true,'
        '"time_in":"2026-09-21T14:13:20.125000Z","time_out":"2026-09-21T14:13:20.125000Z"}']
    helpers.assert_control(ADAPTER, [*subscribe.replies, *unsubscribe.replies])


def test_replay_answers_pings() -> None:
    replay = KrakenReplay(clock=lambda: CLOCK)
    times = '"time_in":"2026-09-21T14:13:20.125000Z","time_out":"2026-09-21T14:13:20.125000Z"'
    assert replay.handle(ADAPTER.keepalive_message()).replies == [f'{{"method":"pong",{times}}}']
    assert replay.handle('{"method":"ping","req_id":101}').replies == [
        f'{{"method":"pong","req_id":101,{times}}}']
    assert ADAPTER.parse(f'{{"method":"pong",{times}}}', RECEIVED) == CONTROL


def test_replay_refusals() -> None:
    replay = KrakenReplay(clock=lambda: CLOCK)
    times = '"time_in":"2026-09-21T14:13:20.125000Z","time_out":"2026-09-21T14:13:20.125000Z"'
    pair = replay.handle(
        '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/EUR"]},"req_id":5}')
    assert pair.replies == [
        '{"error":"Currency pair not supported BTC/EUR","method":"subscribe","req_id":5,'
        f'"success":false,"symbol":"BTC/EUR",{times}}}']
    assert list(pair.subscribe) == []
    garbage = replay.handle("{")
    assert garbage.replies == [f'{{"error":"EGeneral:Invalid arguments","success":false,{times}}}']
    helpers.assert_control(ADAPTER, [*pair.replies, *garbage.replies])


def test_replay_rest_batch_round_trip() -> None:
    prices = {asset: f"0.{n + 1:03d}10" for n, asset in enumerate(PREWARM_ASSETS)} | {
        "BTC": "84036.1", "ETH": "3001.25"}
    assets = [*PREWARM_ASSETS, "BTC", "ETH"]
    path = ADAPTER.rest_batch_path(assets)
    assert path is not None
    status, body = helpers.rest_answer(REPLAY, path, prices)
    assert status == 200
    assert {"XXBTZUSD", "XETHZUSD", "ALGOUSD", "PHAUSD"} <= set(msgspec.json.decode(body)["result"])
    quotes = ADAPTER.parse_rest_batch(body.encode(), assets, RECEIVED)
    assert {q.asset: q.price for q in quotes} == prices
    assert {q.source for q in quotes} == {"kraken-prewarm"}


def test_replay_rest_ticker_round_trip_and_refusal() -> None:
    answer = helpers.rest_answer(REPLAY, ADAPTER.rest_ticker_path("BTC"), {"BTC": "84036.10000"})
    assert list(msgspec.json.decode(answer[1])["result"]["XXBTZUSD"]) == list(
        msgspec.json.decode(REST_TICKER)["result"]["XXBTZUSD"])
    assert ADAPTER.parse_rest_ticker(answer[1].encode(), "BTC", RECEIVED).price == "84036.10000"
    unknown = (200, '{"error":["EQuery:Unknown asset pair"],"result":{}}')
    assert REPLAY.rest_ticker("/0/public/Ticker?pair=XBTUSD,NOPEUSD", {"BTC": "1"}) == unknown
    assert REPLAY.rest_ticker("/0/public/Ticker?pair=XBTEUR", {"BTC": "1"}) == unknown
    assert REPLAY.rest_ticker("/v1/pubticker/btcusd", {"BTC": "1"}) is None


def test_default_replay_file_covers_every_prewarm_asset() -> None:
    lines = helpers.default_replay_lines("kraken")
    template = msgspec.json.decode(USDT_TRADES)
    for line in lines:
        message = msgspec.json.decode(line)
        assert list(message) == list(template)
        assert all(list(t) == list(template["data"][0]) for t in message["data"])
    counts = helpers.quote_counts(ADAPTER, lines, "kraken-ws")
    assert set(counts) == set(PREWARM_ASSETS)
    assert min(counts.values()) >= 6
