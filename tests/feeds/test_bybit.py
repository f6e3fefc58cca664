"""The Bybit adapter against recorded frames (tests/fixtures/exchanges/bybit/PROVENANCE.md),
one-field edits of them, its replay side, and the default replay data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import EXCHANGE_FIXTURES, frames
from tests.feeds import helpers
from tests.feeds.helpers import DATA_WITHOUT_QUOTES, DELETE, RECEIVED
from trinity_beast.feeds import bybit
from trinity_beast.feeds.base import CONTROL, MalformedFrame, Parsed
from trinity_beast.prices.quote import Quote

HERE = EXCHANGE_FIXTURES / "bybit"
ADAPTER = bybit.ADAPTER
CLOCK = 1_790_000_000.75
PREWARM = helpers.prewarm_assets("bybit")

TRADES = "fastmm_testnet_2026-09-13_ws_publicTrade.jsonl"
CONTROL_FRAMES = "fastmm_testnet_2026-09-13_ws_control.jsonl"
SPOT_TICKERS = "unattributed-id18031222436_2025-06-06_ws_spot_tickers.jsonl"
LINEAR_TICKERS = "fastmm_2026-09-29_ws_linear_tickers_snapshot_delta.jsonl"
REST_TICKER = "ccxt_static_rest_v5_market_tickers_linear_BTCUSDT.json"
BATCH = 2  # the recorded frame with two trades of the same millisecond


def recorded(name: str) -> list[str]:
    return frames(HERE / name)


ws_quote = helpers.quote_factory("bybit-ws")


def edited(changes: dict[str, Any], line: int = 0, trade: int = 0) -> str:
    """A recorded publicTrade frame with fields of one of its trades changed or deleted."""
    return helpers.edited_json(recorded(TRADES)[line], changes, "data", trade)


def test_identity_and_registry() -> None:
    assert helpers.endpoints(ADAPTER) == (
        "bybit", "bybit-ws", "bybit-rest", "wss://stream.bybit.com/v5/public/spot",
        "https://api.bybit.com", "/bybit/v5/public/spot")
    assert ADAPTER.keepalive_seconds == 20.0
    assert ADAPTER.symbol("1INCH") == "1INCHUSDT"
    helpers.assert_registered(ADAPTER, bybit.REPLAY)
    assert bybit.REPLAY.heartbeat_seconds is None
    assert bybit.REPLAY.heartbeat() is None


def test_fixture_copies_are_byte_identical_to_the_manifest() -> None:
    helpers.assert_fixtures_match_provenance(HERE)


def test_recorded_spot_trades() -> None:
    expected = [
        ("77140.5", 1789299660.688),
        ("77140.5", 1789299665.782),
        ("77140.1", 1789299670.888),  # two trades, same T: the last one in the frame
        ("77140.1", 1789299671.049),
        ("77140.7", 1789299672.316),
        ("77140.6", 1789299675.989),
        ("77140.5", 1789299681.098),
    ]
    lines = recorded(TRADES)
    assert len(lines) == len(expected)
    for frame, (price, exchange_ts) in zip(lines, expected, strict=True):
        parsed = ADAPTER.parse(frame, RECEIVED)
        assert parsed == Parsed([ws_quote("BTC", price, exchange_ts)], True)


def test_latest_trade_of_a_batch_wins() -> None:
    # Edited: the recorded two-trade frame with the first trade's T one millisecond later.
    frame = edited({"T": 1789299670889}, line=BATCH, trade=0)
    assert ADAPTER.parse(frame, RECEIVED).quotes == [ws_quote("BTC", "77140.5", 1789299670.889)]


def test_one_quote_per_asset_of_a_batch() -> None:
    # Edited: the recorded two-trade frame with the second trade's symbol changed to ETHUSDT.
    frame = edited({"s": "ETHUSDT"}, line=BATCH, trade=1)
    assert ADAPTER.parse(frame, RECEIVED).quotes == [
        ws_quote("BTC", "77140.5", 1789299670.888), ws_quote("ETH", "77140.1", 1789299670.888)]


def test_linear_trades_are_data_without_quotes() -> None:
    [frame] = recorded("unattributed-id54863319618_2026-06-14_ws_linear_publicTrade.jsonl")
    assert ADAPTER.parse(frame, RECEIVED) == Parsed([], True)


def test_non_usdt_spot_trades_are_data_without_quotes() -> None:
    # Edited: the first recorded trade with its symbol changed to BTCUSDC.
    assert ADAPTER.parse(edited({"s": "BTCUSDC"}), RECEIVED) == Parsed([], True)


def test_control_frames_are_not_data() -> None:
    control = [*recorded(CONTROL_FRAMES), recorded(SPOT_TICKERS)[0], recorded(LINEAR_TICKERS)[3]]
    helpers.assert_control(ADAPTER, control)


def test_other_topics_are_data_without_quotes() -> None:
    others = [*recorded(SPOT_TICKERS)[1:], *recorded(LINEAR_TICKERS)[:3],
              *recorded("fastmm_testnet_2026-09-13_ws_orderbook1.jsonl")]
    for frame in others:
        assert ADAPTER.parse(frame, RECEIVED) == DATA_WITHOUT_QUOTES, frame


@pytest.mark.parametrize("changes", [
    {"p": ""},
    {"p": "abc"},
    {"p": "0"},
    {"p": "-77140.5"},
    {"p": "Infinity"},
    {"p": 77140.5},  # a JSON number: its text would be lost
    {"p": DELETE},
    {"s": DELETE},
    {"T": "1789299660688"},
    {"T": 0},
    {"T": DELETE},
])
def test_one_bad_field_makes_the_frame_malformed(changes: dict[str, Any]) -> None:
    # Edited: the first recorded BTCUSDT trade with the given field replaced or deleted.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(edited(changes), RECEIVED)


def test_one_bad_trade_makes_the_whole_batch_malformed() -> None:
    # Edited: the recorded two-trade frame with the second trade's price emptied.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(edited({"p": ""}, line=BATCH, trade=1), RECEIVED)


@pytest.mark.parametrize("frame", [
    "", "not json", "null", "[]", "{", b"\xff\xfe", "\ud800",
    '{"topic":"publicTrade.BTCUSDT","data":{}}',
    '{"topic":"publicTrade.BTCUSDT","data":null}',
    '{"topic":"publicTrade.BTCUSDT"}',
    '{"topic":7}',
    '{"x":' * 50_000,
])
def test_garbage_is_malformed(frame: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(frame, RECEIVED)


def test_truncated_and_corrupted_frames_raise_only_malformed_frame() -> None:
    samples = [recorded(TRADES)[BATCH], recorded(CONTROL_FRAMES)[0], recorded(SPOT_TICKERS)[1]]
    for frame in samples:
        helpers.assert_parse_raises_only_malformed(ADAPTER, helpers.grid_variants(frame))


def test_subscriptions_are_split_into_requests_of_ten_topics() -> None:
    messages = ADAPTER.subscribe_messages(PREWARM)
    assert [len(json.loads(message)["args"]) for message in messages] == [10, 10, 4]
    assert messages[2] == (
        '{"req_id":"sub3","op":"subscribe","args":["publicTrade.MAVUSDT","publicTrade.SEIUSDT",'
        '"publicTrade.WOOUSDT","publicTrade.AGLDUSDT"]}')
    topics = [topic for message in messages for topic in json.loads(message)["args"]]
    assert topics == [f"publicTrade.{asset}USDT" for asset in PREWARM]
    assert ADAPTER.unsubscribe_messages(["TON", "WLD"]) == [
        '{"req_id":"unsub1","op":"unsubscribe","args":["publicTrade.TONUSDT","publicTrade.WLDUSDT"]}'
    ]
    assert ADAPTER.subscribe_messages([]) == []


def test_keepalive_is_an_op_ping_with_a_req_id() -> None:
    assert ADAPTER.keepalive_message() == '{"req_id":"ping","op":"ping"}'


def test_rest_ticker() -> None:
    assert ADAPTER.rest_ticker_path("BTC") == "/v5/market/tickers?category=spot&symbol=BTCUSDT"
    body = (HERE / REST_TICKER).read_bytes()  # retCode and time stored as strings
    expected = Quote("BTC", "51444.40", 51444.4, 1707905549.267, RECEIVED, "bybit-rest")
    assert ADAPTER.parse_rest_ticker(body, "BTC", RECEIVED) == expected
    # Edited: retCode and time as the integers the live API sends.
    live = body.replace(b'"retCode":"0"', b'"retCode":0').replace(
        b'"time":"1707905549267"', b'"time":1707905549267')
    assert ADAPTER.parse_rest_ticker(live, "BTC", RECEIVED) == expected


@pytest.mark.parametrize(("body", "asset"), [
    # The refusal ccxt quotes in its bybit error map.
    (b'{"retCode":10001,"retMsg":"Not supported symbols","result":{},"retExtInfo":{},'
     b'"time":1726147060461}', "BTC"),
    (b'{"retCode":0,"retMsg":"OK","result":{"category":"spot","list":[]},"time":1}', "BTC"),
    (b"not json", "BTC"),
    ((HERE / REST_TICKER).read_bytes(), "ETH"),  # the answer is about another symbol
    ((HERE / REST_TICKER).read_bytes().replace(b'"retCode":"0"', b'"retCode":"10016"'), "BTC"),
    ((HERE / REST_TICKER).read_bytes().replace(b'"lastPrice":"51444.40"', b'"lastPrice":""'),
     "BTC"),
])
def test_rest_ticker_errors_are_malformed(body: bytes, asset: str) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body, asset, RECEIVED)


def test_replay_round_trip_of_subscriptions() -> None:
    replay = bybit.REPLAY
    subscribed: list[str] = []
    for message in ADAPTER.subscribe_messages(PREWARM):
        answer = replay.handle(message)
        subscribed += answer.subscribe
        helpers.assert_control(ADAPTER, answer.replies)
    assert subscribed == PREWARM
    [unsubscribe] = ADAPTER.unsubscribe_messages(["TON", "1INCH"])
    assert list(replay.handle(unsubscribe).unsubscribe) == ["TON", "1INCH"]


def test_replay_ack_and_pong_follow_the_recorded_ones() -> None:
    ack_template, pong_template, _ = (json.loads(line) for line in recorded(CONTROL_FRAMES))
    [ack] = bybit.REPLAY.handle(ADAPTER.subscribe_messages(["TON"])[0]).replies
    assert ack == ('{"success":true,"ret_msg":"subscribe",'
                   '"conn_id":"30ed27a8-ed96-41dd-8608-d239d11df3d6","req_id":"sub1","op":"subscribe"}')
    assert list(json.loads(ack)) == list(ack_template)
    [pong] = bybit.REPLAY.handle(ADAPTER.keepalive_message()).replies
    conn_id = json.loads(ack)["conn_id"]
    assert json.loads(pong) == dict(pong_template, conn_id=conn_id, req_id="ping")
    assert list(json.loads(pong)) == list(pong_template)
    # Without a req_id the venue leaves it out (the 2025 production capture).
    [bare] = bybit.REPLAY.handle('{"op":"subscribe","args":["publicTrade.TONUSDT"]}').replies
    assert list(json.loads(bare)) == list(json.loads(recorded(SPOT_TICKERS)[0]))


def test_replay_refuses_more_than_ten_args_like_the_venue() -> None:
    topics = [f"publicTrade.{asset}USDT" for asset in PREWARM[:11]]
    answer = bybit.REPLAY.handle(json.dumps({"op": "subscribe", "args": topics}))
    assert answer.subscribe == ()
    assert answer.replies == (
        '{"success":false,"ret_msg":"args size \\u003e10",'
        '"conn_id":"30ed27a8-ed96-41dd-8608-d239d11df3d6","op":"subscribe"}',)
    assert ADAPTER.parse(answer.replies[0], RECEIVED) == CONTROL


def test_replay_errors() -> None:
    bad_topic = bybit.REPLAY.handle(
        '{"req_id":"sub1","op":"subscribe","args":["publicTrade.TONUSDT","orderbook.50.NOSUCHSYM"]}')
    assert bad_topic.subscribe == ()
    assert json.loads(bad_topic.replies[0])["ret_msg"] == "Invalid symbol :[orderbook.50.NOSUCHSYM]"
    garbage = bybit.REPLAY.handle("not json")
    reply = json.loads(garbage.replies[0])
    assert (reply["success"], reply["req_id"], reply["op"]) == (False, "", "")
    assert reply["ret_msg"].startswith("Failed to decode incoming data")
    helpers.assert_control(ADAPTER, [bad_topic.replies[0], garbage.replies[0]])


def test_replay_rest_ticker_round_trip() -> None:
    replay = bybit.BybitReplay(clock=lambda: CLOCK)
    prices = {"TON": "3.2140", "WLD": "1.187"}
    status, body = helpers.rest_answer(replay, ADAPTER.rest_ticker_path("TON"), prices)
    assert status == 200
    expected = Quote("TON", "3.2140", 3.214, 1790000000.75, RECEIVED, "bybit-rest")
    assert ADAPTER.parse_rest_ticker(body.encode(), "TON", RECEIVED) == expected
    assert list(json.loads(body)) == list(json.loads((HERE / REST_TICKER).read_bytes()))
    status, body = helpers.rest_answer(replay, ADAPTER.rest_ticker_path("XYZ"), prices)
    assert (status, json.loads(body)["retCode"]) == (200, 10001)
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body.encode(), "XYZ", RECEIVED)
    status, body = helpers.rest_answer(replay, "/v5/market/tickers?category=spot", prices)
    assert [row["symbol"] for row in json.loads(body)["result"]["list"]] == ["TONUSDT", "WLDUSDT"]
    assert replay.rest_ticker("/api/v5/market/ticker?instId=TON-USDT", prices) is None


def test_default_replay_file_covers_every_prewarm_asset() -> None:
    lines = helpers.default_replay_lines("bybit")
    template = json.loads(recorded(TRADES)[0])
    for line in lines:
        assert helpers.json_shape(json.loads(line)) == helpers.json_shape(template)
    counts = helpers.quote_counts(ADAPTER, lines, "bybit-ws")
    assert set(counts) == set(PREWARM)
    assert min(counts.values()) >= 6
    first_round = {ADAPTER.parse(line, RECEIVED).quotes[0].asset for line in lines[:24]}
    assert first_round == set(PREWARM)  # the assets are interleaved, not one block each
