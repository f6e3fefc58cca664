"""The Gate.io adapter against recorded frames (tests/fixtures/exchanges/gateio/PROVENANCE.md),
one-field edits of them, its replay side, and the default replay data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import EXCHANGE_FIXTURES, frames
from tests.feeds import helpers
from tests.feeds.helpers import DATA_WITHOUT_QUOTES, DELETE, RECEIVED
from trinity_beast.feeds import gateio
from trinity_beast.feeds.base import CONTROL, MalformedFrame, Parsed
from trinity_beast.prices.quote import Quote

HERE = EXCHANGE_FIXTURES / "gateio"
ADAPTER = gateio.ADAPTER
CLOCK = 1_790_000_000.75
PREWARM = helpers.prewarm_assets("gateio")

MODERN_TRADE = "unattributed-id26134566678_2023-01-04_ws_spot_trades.jsonl"
ACKS = "cryptofeed_2021-04-22_subscribe_ack.jsonl"
REST_TICKER = "unattributed-id68478268746_2026-09-25_rest_spot_tickers_BTC_USDT.json"


def recorded(name: str) -> list[str]:
    return frames(HERE / name)


ws_quote = helpers.quote_factory("gateio-ws")


def edited(trade_changes: dict[str, Any], name: str = MODERN_TRADE) -> str:
    """The recorded frame with fields of its trade (``result``) changed or deleted."""
    return helpers.edited_json(recorded(name)[0], trade_changes, "result")


def test_identity_and_registry() -> None:
    assert helpers.endpoints(ADAPTER) == (
        "gateio", "gateio-ws", "gateio-rest", "wss://api.gateio.ws/ws/v4/", "https://api.gateio.ws",
        "/gateio/ws/v4/")
    assert ADAPTER.keepalive_seconds == 15.0
    assert ADAPTER.symbol("BTC") == "BTC_USDT"
    helpers.assert_registered(ADAPTER, gateio.REPLAY)
    assert gateio.REPLAY.heartbeat_seconds is None
    assert gateio.REPLAY.heartbeat() is None
    assert gateio.REPLAY.greeting() == []


def test_fixture_copies_are_byte_identical_to_the_manifest() -> None:
    helpers.assert_fixtures_match_provenance(HERE)


def test_modern_trade_frame() -> None:
    parsed = ADAPTER.parse(recorded(MODERN_TRADE)[0], RECEIVED)
    assert parsed == Parsed((ws_quote("BTC", "16850.4", 1672832218.63),), True)


def test_trade_time_keeps_the_sub_millisecond_fraction() -> None:
    parsed = ADAPTER.parse(recorded("crypto-msg-parser_ws_spot_trades.jsonl")[0], RECEIVED)
    assert parsed == Parsed((ws_quote("BTC", "47395.009", 1631824310.261896),), True)


def test_bytes_frames_parse_like_text() -> None:
    frame = recorded(MODERN_TRADE)[0]
    assert ADAPTER.parse(frame.encode(), RECEIVED) == ADAPTER.parse(frame, RECEIVED)


def test_recorded_2021_trades_keep_every_digit_and_skip_non_usdt_pairs() -> None:
    expected = [
        ("DIS", "121.5800000000", 1619093543.7082642),
        None,  # NEO_BTC
        None,  # NEO_BTC
        ("FAST", "10.4200000000", 1619093553.517921),
        None,  # ZKS_ETH
        ("NANO", "8.7919000000", 1619093560.720907),
        None,  # NEO_BTC
        None,  # NEO_BTC
        None,  # NEO_BTC
    ]
    lines = recorded("cryptofeed_2021-04-22_ws_spot_trades.jsonl")
    assert len(lines) == len(expected)
    for frame, want in zip(lines, expected, strict=True):
        quotes = (ws_quote(*want),) if want else ()
        assert ADAPTER.parse(frame, RECEIVED) == Parsed(quotes, True)


def test_frame_without_create_time_ms_uses_create_time() -> None:
    # Edited: the recorded 2021 DIS_USDT trade with its create_time_ms field deleted.
    frame = edited({"create_time_ms": DELETE}, "cryptofeed_2021-04-22_ws_spot_trades.jsonl")
    parsed = ADAPTER.parse(frame, RECEIVED)
    assert parsed == Parsed((ws_quote("DIS", "121.5800000000", 1619093543.0),), True)


def test_control_frames_are_not_data() -> None:
    control = [
        *recorded(ACKS),
        *recorded("gate-announcement-45317_2025-05-30_ws_subscribe_ack_spot_obu.jsonl"),
        # The pong example of the Gate v4 WebSocket docs ("Application ping pong"), compacted.
        '{"time":1545404023,"channel":"spot.pong","event":"","error":null,"result":null}',
        # The error reply to a request with a string "time" (gateio/WebSocket-API issue 20).
        '{"time":1626965030,"channel":"","event":"","error":{"code":1,'
        '"message":"request payload does not follow json schema"},"result":null}',
    ]
    helpers.assert_control(ADAPTER, control)


@pytest.mark.parametrize("name", [
    "cryptofeed_2021-04-22_ws_spot_tickers.jsonl",
    "crypto-msg-parser_ws_spot_tickers.jsonl",
    "crypto-msg-parser_ws_spot_book_ticker.jsonl",
])
def test_other_channels_are_data_without_quotes(name: str) -> None:
    for frame in recorded(name):
        assert ADAPTER.parse(frame, RECEIVED) == DATA_WITHOUT_QUOTES


@pytest.mark.parametrize("changes", [
    {"price": ""},
    {"price": "abc"},
    {"price": "0"},
    {"price": "-16850.4"},
    {"price": "NaN"},
    {"price": "1e400"},
    {"price": " 16850.4"},
    {"price": 16850.4},  # a JSON number: its text would be lost
    {"price": DELETE},
    {"currency_pair": DELETE},
    {"create_time_ms": "abc"},
    {"create_time_ms": "nan"},
    {"create_time_ms": "0.0"},
    {"create_time_ms": DELETE, "create_time": DELETE},
])
def test_one_bad_field_makes_the_frame_malformed(changes: dict[str, Any]) -> None:
    # Edited: the recorded 2023 BTC_USDT trade with the given field(s) replaced or deleted.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(edited(changes), RECEIVED)


@pytest.mark.parametrize("frame", [
    "", "not json", "null", "[]", "{", '"text"', b"\xff\xfe", "\ud800",
    '{"channel":"spot.trades","event":"update","result":null}',
    '{"channel":"spot.trades","event":"update","result":[]}',
    '{"channel":"spot.trades","event":"update"}',
    '{"channel":5,"event":"update"}',
    '{"x":' * 50_000,
])
def test_garbage_is_malformed(frame: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(frame, RECEIVED)


def test_unknown_message_types_and_fields_are_ignored() -> None:
    assert ADAPTER.parse('{"time":1,"channel":"spot.new","event":"notice"}', RECEIVED) == CONTROL
    frame = edited({"new_field": {"nested": [1, 2]}})
    assert ADAPTER.parse(frame, RECEIVED).quotes == (ws_quote("BTC", "16850.4", 1672832218.63),)


def test_truncated_and_corrupted_frames_raise_only_malformed_frame() -> None:
    samples = [recorded(MODERN_TRADE)[0], recorded(ACKS)[0],
               recorded("cryptofeed_2021-04-22_ws_spot_trades.jsonl")[0]]
    for frame in samples:
        helpers.assert_parse_raises_only_malformed(ADAPTER, helpers.grid_variants(frame))


def test_subscribe_and_unsubscribe_messages_are_exact() -> None:
    adapter = gateio.GateioAdapter(clock=lambda: CLOCK)
    assert adapter.subscribe_messages(["BTC", "ETH"]) == [
        '{"time":1790000000,"channel":"spot.trades","event":"subscribe",'
        '"payload":["BTC_USDT","ETH_USDT"]}'
    ]
    assert adapter.unsubscribe_messages(["BTC"]) == [
        '{"time":1790000000,"channel":"spot.trades","event":"unsubscribe","payload":["BTC_USDT"]}'
    ]
    assert adapter.subscribe_messages([]) == []
    sent = json.loads(recorded("cryptofeed_2021-04-22_sent_subscribe.jsonl")[0])
    assert list(json.loads(adapter.subscribe_messages(["BTC"])[0])) == list(sent)


def test_keepalive_is_spot_ping_with_the_time() -> None:
    adapter = gateio.GateioAdapter(clock=lambda: CLOCK)
    assert adapter.keepalive_message() == '{"time":1790000000,"channel":"spot.ping"}'


def test_rest_ticker() -> None:
    assert ADAPTER.rest_ticker_path("BTC") == "/api/v4/spot/tickers?currency_pair=BTC_USDT"
    body = (HERE / REST_TICKER).read_bytes()
    assert ADAPTER.parse_rest_ticker(body, "BTC", RECEIVED) == Quote(
        "BTC", "84053.3", 84053.3, RECEIVED, RECEIVED, "gateio-rest")


@pytest.mark.parametrize(("body", "asset"), [
    (b'{"label":"INVALID_CURRENCY_PAIR","message":"Invalid currency pair BTC_USDTT"}', "BTC"),
    (b"[]", "BTC"),
    (b"not json", "BTC"),
    ((HERE / REST_TICKER).read_bytes(), "ETH"),  # the answer is about another pair
    ((HERE / REST_TICKER).read_bytes().replace(b'"last":"84053.3"', b'"last":""'), "BTC"),
])
def test_rest_ticker_errors_are_malformed(body: bytes, asset: str) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body, asset, RECEIVED)


def test_replay_round_trip_of_subscriptions() -> None:
    replay = gateio.GateioReplay(clock=lambda: CLOCK)
    [subscribe] = ADAPTER.subscribe_messages(PREWARM)
    answer = replay.handle(subscribe)
    assert list(answer.subscribe) == PREWARM
    assert list(answer.unsubscribe) == []
    [ack] = answer.replies
    assert ADAPTER.parse(ack, RECEIVED) == CONTROL
    [unsubscribe] = ADAPTER.unsubscribe_messages(["BNB", "TRX"])
    assert list(replay.handle(unsubscribe).unsubscribe) == ["BNB", "TRX"]


def test_replay_ack_follows_the_recorded_envelope() -> None:
    replay = gateio.GateioReplay(clock=lambda: CLOCK)
    [ack] = replay.handle(ADAPTER.subscribe_messages(["BTC"])[0]).replies
    assert ack == (
        '{"time":1790000000,"time_ms":1790000000750,"conn_id":"b61f70b2e6bcca91",'
        '"trace_id":"d2e2d92c3a7eabc3d5be52514ef508d2","channel":"spot.trades",'
        '"event":"subscribe","payload":["BTC_USDT"],"result":{"status":"success"}}'
    )
    template = json.loads(
        recorded("gate-announcement-45317_2025-05-30_ws_subscribe_ack_spot_obu.jsonl")[0])
    assert list(json.loads(ack)) == [key for key in template if key != "requestId"]


def test_replay_pong_and_errors() -> None:
    replay = gateio.GateioReplay(clock=lambda: CLOCK)
    [pong] = replay.handle(ADAPTER.keepalive_message()).replies
    assert pong == ('{"time":1790000000,"time_ms":1790000000750,"conn_id":"b61f70b2e6bcca91",'
                    '"trace_id":"d2e2d92c3a7eabc3d5be52514ef508d2","channel":"spot.pong",'
                    '"event":"","result":null}')
    [schema_error] = replay.handle("not json").replies
    assert json.loads(schema_error)["error"] == {
        "code": 1, "message": "request payload does not follow json schema"}
    bad_pair = replay.handle('{"time":1,"channel":"spot.trades","event":"subscribe",'
                             '"payload":["BTC_USDT","GIBBERISH_USD"]}')
    assert bad_pair.subscribe == ()
    assert json.loads(bad_pair.replies[0])["error"] == {
        "code": 2, "message": "unknown currency pair GIBBERISH_USD"}
    bad_channel = replay.handle('{"time":1,"channel":"spot.nope","event":"subscribe"}')
    assert json.loads(bad_channel.replies[0])["error"]["code"] == 2
    replies = [pong, schema_error, bad_pair.replies[0], bad_channel.replies[0]]
    helpers.assert_control(ADAPTER, replies)


def test_replay_rest_ticker_round_trip() -> None:
    replay = gateio.REPLAY
    prices = {"BNB": "612.40", "TRX": "0.2431"}
    status, body = helpers.rest_answer(replay, ADAPTER.rest_ticker_path("BNB"), prices)
    assert status == 200
    quote = ADAPTER.parse_rest_ticker(body.encode(), "BNB", RECEIVED)
    assert (quote.asset, quote.price, quote.source) == ("BNB", "612.40", "gateio-rest")
    template = json.loads((HERE / REST_TICKER).read_bytes())
    assert [list(row) for row in json.loads(body)] == [list(template[0])]
    status, body = helpers.rest_answer(replay, ADAPTER.rest_ticker_path("XYZ"), prices)
    assert status == 400
    assert json.loads(body)["label"] == "INVALID_CURRENCY_PAIR"
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body.encode(), "XYZ", RECEIVED)
    status, body = helpers.rest_answer(replay, "/api/v4/spot/tickers", prices)
    assert [row["currency_pair"] for row in json.loads(body)] == ["BNB_USDT", "TRX_USDT"]
    assert replay.rest_ticker("/v5/market/tickers?category=spot&symbol=BNBUSDT", prices) is None


def test_default_replay_file_covers_every_prewarm_asset() -> None:
    lines = helpers.default_replay_lines("gateio")
    template = json.loads(recorded(MODERN_TRADE)[0])
    for line in lines:
        assert helpers.json_shape(json.loads(line)) == helpers.json_shape(template)
    counts = helpers.quote_counts(ADAPTER, lines, "gateio-ws")
    assert set(counts) == set(PREWARM)
    assert min(counts.values()) >= 6
    first_round = {ADAPTER.parse(line, RECEIVED).quotes[0].asset for line in lines[:24]}
    assert first_round == set(PREWARM)  # the assets are interleaved, not one block each
