"""The OKX adapter against recorded frames (tests/fixtures/exchanges/okx/PROVENANCE.md),
one-field edits of them, its replay side, and the default replay data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import EXCHANGE_FIXTURES, frames
from tests.feeds import helpers
from tests.feeds.helpers import DATA_WITHOUT_QUOTES, DELETE, RECEIVED
from trinity_beast.feeds import okx
from trinity_beast.feeds.base import RECONNECT, MalformedFrame, Parsed
from trinity_beast.prices.quote import Quote

HERE = EXCHANGE_FIXTURES / "okx"
ADAPTER = okx.ADAPTER
CLOCK = 1_790_000_000.75
PREWARM = helpers.prewarm_assets("okx")

TRADES = "cryptofeed_2022-05-13_ws_trades.jsonl"
SPOT_TRADE = 2  # the first BTC-USDT line of TRADES
CONTROL_FRAMES = "unattributed_ws_control_2025-2026.jsonl"
REST_TICKER = "unattributed-id68478268746_2026-09-25_rest_market_ticker_BTC-USDT.json"
# The 64008 notice as EXCHANGES.md §6 quotes it from the OKX docs (no recorded copy exists).
NOTICE = ('{"event":"notice","code":"64008","msg":"The connection will soon be closed for a '
          'service upgrade. Please reconnect."}')


def recorded(name: str) -> list[str]:
    return frames(HERE / name)


ws_quote = helpers.quote_factory("okx-ws")


def edited(changes: dict[str, Any], line: int = SPOT_TRADE) -> str:
    """A recorded BTC-USDT trades frame with fields of its trade changed or deleted."""
    return helpers.edited_json(recorded(TRADES)[line], changes, "data", 0)


def batched(*lines: int) -> str:
    """Edited: the trades of several recorded single-trade frames in one frame's ``data``."""
    messages = [json.loads(recorded(TRADES)[line]) for line in lines]
    messages[0]["data"] = [message["data"][0] for message in messages]
    return json.dumps(messages[0], separators=(",", ":"))


def test_identity_and_registry() -> None:
    assert helpers.endpoints(ADAPTER) == (
        "okx", "okx-ws", "okx-rest", "wss://ws.okx.com:8443/ws/v5/public", "https://www.okx.com",
        "/okx/ws/v5/public")
    assert ADAPTER.keepalive_seconds is not None
    assert ADAPTER.keepalive_seconds < 30  # OKX drops connections silent for 30 s
    assert ADAPTER.symbol("BTC") == "BTC-USDT"
    helpers.assert_registered(ADAPTER, okx.REPLAY)
    assert okx.REPLAY.heartbeat_seconds is None
    assert okx.REPLAY.heartbeat() is None


def test_fixture_copies_are_byte_identical_to_the_manifest() -> None:
    helpers.assert_fixtures_match_provenance(HERE)


def test_recorded_trades_of_several_instruments() -> None:
    lines = recorded("crypto-msg-parser_ws_trades.jsonl")
    assert ADAPTER.parse(lines[0], RECEIVED) == Parsed(
        [ws_quote("BTC", "43474.1", 1646311839.593)], True)
    for frame in lines[1:]:  # futures, swaps and an option of BTC
        assert ADAPTER.parse(frame, RECEIVED) == Parsed([], True)


def test_recorded_2022_trades() -> None:
    lines = recorded(TRADES)
    assert ADAPTER.parse(lines[0], RECEIVED) == Parsed([], True)  # BTC-USD-220527 future
    assert ADAPTER.parse(lines[1], RECEIVED) == Parsed([], True)  # UNI-USD-SWAP
    assert ADAPTER.parse(lines[SPOT_TRADE], RECEIVED).quotes == [
        ws_quote("BTC", "30236", 1652459224.818)]
    assert ADAPTER.parse(lines[-1], RECEIVED).quotes == [
        ws_quote("BTC", "30227.6", 1652459235.576)]
    for frame in lines:  # every line against an independent reading of the same text
        message = json.loads(frame)
        trade = message["data"][0]
        spot = trade["instId"] == "BTC-USDT"
        want = [ws_quote("BTC", trade["px"], int(trade["ts"]) / 1000)] if spot else []
        assert ADAPTER.parse(frame, RECEIVED) == Parsed(want, True)


def test_swap_trades_with_new_fields_are_data_without_quotes() -> None:
    ticker, swap_trades = recorded("unattributed-id54863319618_2026-06-14_ws.jsonl")
    assert ADAPTER.parse(swap_trades, RECEIVED) == Parsed([], True)
    assert ADAPTER.parse(ticker, RECEIVED) == DATA_WITHOUT_QUOTES


def test_latest_trade_of_a_batch_wins_and_ties_go_to_the_last() -> None:
    # Lines 3, 4, 5 are three BTC-USDT trades of the same millisecond, 6 is a later one.
    assert ADAPTER.parse(batched(6, 3), RECEIVED).quotes == [
        ws_quote("BTC", "30243.5", 1652459226.153)]
    tie = json.loads(batched(3, 4, 5))
    tie["data"][2]["px"] = "30243.6"  # edited so that the last of the tie is recognisable
    assert ADAPTER.parse(json.dumps(tie), RECEIVED).quotes == [
        ws_quote("BTC", "30243.6", 1652459226.05)]


def test_one_quote_per_asset_of_a_batch() -> None:
    # Edited: two recorded BTC-USDT trades, the second one's instId changed to ETH-USDT.
    message = json.loads(batched(3, 6))
    message["data"][1]["instId"] = "ETH-USDT"
    assert ADAPTER.parse(json.dumps(message), RECEIVED).quotes == [
        ws_quote("BTC", "30243.5", 1652459226.05), ws_quote("ETH", "30243.5", 1652459226.153)]


def test_control_frames_are_not_data() -> None:
    control: list[str | bytes] = [
        *recorded("cryptofeed_2022-05-13_subscribe_ack.jsonl"),
        *recorded(CONTROL_FRAMES),  # error 60018 and an ack with connId
        *recorded("okx_text_pong_frame.txt"),
        (HERE / "okx_text_pong_frame.txt").read_bytes(),
        '{"event":"notice","code":"64000","msg":"another notice"}',
    ]
    helpers.assert_control(ADAPTER, control)


def test_service_upgrade_notice_asks_for_a_reconnect() -> None:
    assert ADAPTER.parse(NOTICE, RECEIVED) == RECONNECT
    assert ADAPTER.parse(NOTICE.encode(), RECEIVED).reconnect is True


@pytest.mark.parametrize("name", [
    "crypto-msg-parser_ws_tickers.jsonl", "cryptofeed_2022-05-13_ws_tickers.jsonl"])
def test_tickers_are_data_without_quotes(name: str) -> None:
    for frame in recorded(name):
        assert ADAPTER.parse(frame, RECEIVED) == DATA_WITHOUT_QUOTES


@pytest.mark.parametrize("changes", [
    {"px": ""},
    {"px": "abc"},
    {"px": "0"},
    {"px": "-30236"},
    {"px": "nan"},
    {"px": 30236},  # a JSON number: its text would be lost
    {"px": DELETE},
    {"instId": DELETE},
    {"ts": "abc"},
    {"ts": ""},
    {"ts": "-1652459224818"},
    {"ts": "9" * 30},
    {"ts": 1652459224818},
    {"ts": DELETE},
])
def test_one_bad_field_makes_the_frame_malformed(changes: dict[str, Any]) -> None:
    # Edited: the first recorded BTC-USDT trade with the given field replaced or deleted.
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(edited(changes), RECEIVED)


def test_one_bad_trade_makes_the_whole_batch_malformed() -> None:
    message = json.loads(batched(3, 6))
    message["data"][1]["px"] = ""  # edited: the second trade's price emptied
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(json.dumps(message), RECEIVED)


@pytest.mark.parametrize("frame", [
    "", "ping", "not json", "null", "[]", "{", b"\xff\xfe", "\ud800",
    '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":{}}',
    '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":null}',
    '{"arg":"trades","data":[]}',
    '{"event":"notice","code":64008}',
    '{"x":' * 50_000,
])
def test_garbage_is_malformed(frame: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse(frame, RECEIVED)


def test_truncated_and_corrupted_frames_raise_only_malformed_frame() -> None:
    samples = [batched(3, 6), NOTICE, recorded(CONTROL_FRAMES)[1]]
    for frame in samples:
        helpers.assert_parse_raises_only_malformed(ADAPTER, helpers.grid_variants(frame))


def test_subscribe_and_unsubscribe_messages_are_exact() -> None:
    assert ADAPTER.subscribe_messages(["KAS", "W"]) == [
        '{"op":"subscribe","args":[{"channel":"trades","instId":"KAS-USDT"},'
        '{"channel":"trades","instId":"W-USDT"}]}'
    ]
    assert ADAPTER.unsubscribe_messages(["KAS"]) == [
        '{"op":"unsubscribe","args":[{"channel":"trades","instId":"KAS-USDT"}]}']
    assert ADAPTER.subscribe_messages([]) == []
    assert len(ADAPTER.subscribe_messages(PREWARM)) == 1
    sent = json.loads(recorded("cryptofeed_2022-05-13_sent_subscribe.jsonl")[1])
    ours = json.loads(ADAPTER.subscribe_messages(["BTC"])[0])
    assert list(ours) == list(sent)
    assert ours["args"][0] in sent["args"]


def test_big_subscriptions_are_split_under_64_kb() -> None:
    assets = [f"COIN{number}" for number in range(3000)]  # about 150 KB of args
    messages = ADAPTER.subscribe_messages(assets)
    assert len(messages) == 3
    assert all(len(message.encode()) <= 64 * 1024 for message in messages)
    inst_ids = [arg["instId"] for message in messages for arg in json.loads(message)["args"]]
    assert inst_ids == [f"{asset}-USDT" for asset in assets]


def test_keepalive_is_the_text_ping() -> None:
    assert ADAPTER.keepalive_message() == "ping"


def test_rest_ticker() -> None:
    assert ADAPTER.rest_ticker_path("BTC") == "/api/v5/market/ticker?instId=BTC-USDT"
    body = (HERE / REST_TICKER).read_bytes()
    assert ADAPTER.parse_rest_ticker(body, "BTC", RECEIVED) == Quote(
        "BTC", "84070.9", 84070.9, 1790323049.365, RECEIVED, "okx-rest")


@pytest.mark.parametrize(("body", "asset"), [
    (b'{"code":"51001","msg":"Instrument ID, Instrument ID code, or Spread ID doesn\'t exist.",'
     b'"data":[]}', "BTC"),
    (b'{"code":"0","data":[],"msg":""}', "BTC"),
    (b"not json", "BTC"),
    ((HERE / REST_TICKER).read_bytes(), "ETH"),  # the answer is about another instrument
    ((HERE / REST_TICKER).read_bytes().replace(b'"code":"0"', b'"code":"50011"'), "BTC"),
    ((HERE / REST_TICKER).read_bytes().replace(b'"last":"84070.9"', b'"last":"0"'), "BTC"),
])
def test_rest_ticker_errors_are_malformed(body: bytes, asset: str) -> None:
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body, asset, RECEIVED)


def test_replay_round_trip_of_subscriptions() -> None:
    [subscribe] = ADAPTER.subscribe_messages(PREWARM)
    answer = okx.REPLAY.handle(subscribe)
    assert list(answer.subscribe) == PREWARM
    assert len(answer.replies) == len(PREWARM)  # one ack per arg, as the venue does
    helpers.assert_control(ADAPTER, answer.replies)
    assert answer.replies[0] == (
        '{"event":"subscribe","arg":{"channel":"trades","instId":"KAS-USDT"},"connId":"320a0cf9"}')
    template = json.loads(recorded(CONTROL_FRAMES)[1])
    assert list(json.loads(answer.replies[0])) == list(template)
    [unsubscribe] = ADAPTER.unsubscribe_messages(["KAS", "W"])
    answer = okx.REPLAY.handle(unsubscribe)
    assert list(answer.unsubscribe) == ["KAS", "W"]
    assert json.loads(answer.replies[1])["event"] == "unsubscribe"


def test_replay_pong_and_errors() -> None:
    assert okx.REPLAY.handle(ADAPTER.keepalive_message()).replies == ("pong",)
    unknown = okx.REPLAY.handle(
        '{"op":"subscribe","args":[{"channel":"tickers","instId":"NMR-USDT"}]}')
    assert unknown.subscribe == []
    error_template = json.loads(recorded(CONTROL_FRAMES)[0])
    assert json.loads(unknown.replies[0]) == dict(error_template, connId="320a0cf9")
    garbage = okx.REPLAY.handle('{"op":"subscribe",')
    assert garbage.replies == (
        '{"event":"error","msg":"Illegal request: {\\"op\\":\\"subscribe\\",","code":"60012",'
        '"connId":"320a0cf9"}',)
    helpers.assert_control(ADAPTER, [*unknown.replies, *garbage.replies, "pong"])


def test_replay_rest_ticker_round_trip() -> None:
    replay = okx.OkxReplay(clock=lambda: CLOCK)
    prices = {"KAS": "0.08712", "W": "0.0912"}
    status, body = helpers.rest_answer(replay, ADAPTER.rest_ticker_path("KAS"), prices)
    assert status == 200
    expected = Quote("KAS", "0.08712", 0.08712, 1790000000.75, RECEIVED, "okx-rest")
    assert ADAPTER.parse_rest_ticker(body.encode(), "KAS", RECEIVED) == expected
    template = json.loads((HERE / REST_TICKER).read_bytes())
    assert list(json.loads(body)) == list(template)
    assert list(json.loads(body)["data"][0]) == list(template["data"][0])
    status, body = helpers.rest_answer(replay, ADAPTER.rest_ticker_path("XYZ"), prices)
    assert (status, json.loads(body)["code"]) == (200, "51001")
    with pytest.raises(MalformedFrame):
        ADAPTER.parse_rest_ticker(body.encode(), "XYZ", RECEIVED)
    assert replay.rest_ticker("/api/v4/spot/tickers?currency_pair=KAS_USDT", prices) is None


def test_default_replay_file_covers_every_prewarm_asset() -> None:
    lines = helpers.default_replay_lines("okx")
    template = json.loads(recorded(TRADES)[SPOT_TRADE])
    for line in lines:
        assert helpers.json_shape(json.loads(line)) == helpers.json_shape(template)
    counts = helpers.quote_counts(ADAPTER, lines, "okx-ws")
    assert set(counts) == set(PREWARM)
    assert min(counts.values()) >= 6
    first_round = {ADAPTER.parse(line, RECEIVED).quotes[0].asset for line in lines[:24]}
    assert first_round == set(PREWARM)  # the assets are interleaved, not one block each
