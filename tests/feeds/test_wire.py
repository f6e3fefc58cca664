"""The wire-format helpers the adapters share (``feeds/wire.py``)."""

from __future__ import annotations

import msgspec
import pytest

from tests.feeds.helpers import RECEIVED
from trinity_beast.feeds import registry, wire
from trinity_beast.feeds.base import MalformedFrame
from trinity_beast.prices.quote import Quote, parse_rfc3339


class _Trade(msgspec.Struct, frozen=True):
    symbol: str
    price: str
    ms: int


_TRADES = msgspec.json.Decoder(list[_Trade])


def test_the_registry_passes_over_the_module() -> None:
    assert not hasattr(wire, "ADAPTER")
    assert "wire" not in registry.adapters()
    assert "okx" in registry.adapters()  # the modules around it are still found


def test_decode_frame_gives_the_struct() -> None:
    assert wire.decode_frame(_TRADES, b'[{"symbol":"BTC-USD","price":"1.5","ms":7}]', "x") == [
        _Trade("BTC-USD", "1.5", 7)]


@pytest.mark.parametrize(("data", "message"), [
    ("[{", "okx trades: Input data was truncated"),
    ("{}", "okx trades: Expected `array`, got `object`"),
    ("\ud800", "okx trades: 'utf-8' codec can't encode character '\\ud800' in position 0:"
               " surrogates not allowed"),
    # Nesting deeper than msgspec recurses, inside a field the struct skips.
    ('[{"x":' + "[" * 100_000, "okx trades: maximum recursion depth exceeded while deserializing"
                                " an object"),
])
def test_decode_frame_failures_are_malformed_frames(data: str, message: str) -> None:
    with pytest.raises(MalformedFrame) as caught:
        wire.decode_frame(_TRADES, data, "okx trades")
    assert str(caught.value) == message


def test_frame_price() -> None:
    assert wire.frame_price("0.13110", "kraken") == ("0.13110", 0.1311)
    assert wire.frame_price(b"5.1e-05", "kraken") == ("5.1e-05", 5.1e-05)
    with pytest.raises(MalformedFrame) as bare:
        wire.frame_price("", "okx")
    assert str(bare.value) == "okx: price must be a non-empty decimal text, got ''"
    with pytest.raises(MalformedFrame) as named:
        wire.frame_price("-1", "gemini trade", "btcusd")
    assert str(named.value) == "gemini trade btcusd: price '-1' is not a plain decimal number"


def _quote(asset: str, price: str, ms: int) -> Quote:
    return Quote(asset, price, float(price), ms / 1000, RECEIVED, "test-ws")


def test_keep_latest_keeps_the_latest_trade_per_asset_and_the_last_of_a_tie() -> None:
    latest: dict[str, Quote] = {}
    for quote in [
        _quote("BTC", "100", 2000), _quote("ETH", "10", 1000), None, _quote("BTC", "99", 1000),
        _quote("BTC", "101", 2000), _quote("ETH", "11", 3000), None,
    ]:
        wire.keep_latest(latest, quote)
    assert list(latest.values()) == [
        Quote("BTC", "101", 101.0, 2.0, RECEIVED, "test-ws"),
        Quote("ETH", "11", 11.0, 3.0, RECEIVED, "test-ws"),
    ]


def test_encode_text_is_compact_json_in_insertion_order() -> None:
    assert wire.encode_text({"op": "subscribe", "args": ["a", 1, None]}) == (
        '{"op":"subscribe","args":["a",1,null]}')


def test_request_query_and_path_after() -> None:
    ticker = "/0/public/Ticker"
    assert wire.request_query(f"{ticker}?pair=XBTUSD,XDGUSD&pair=PHAUSD", ticker) == {
        "pair": ["XBTUSD,XDGUSD", "PHAUSD"]}
    assert wire.request_query(ticker, ticker) == {}
    assert wire.request_query("/0/public/Tickers?pair=XBTUSD", ticker) is None
    assert wire.path_after("/v1/pubticker/btcusd?x=1", "/v1/pubticker/") == "btcusd"
    assert wire.path_after("/v1/pubticker/", "/v1/pubticker/") == ""
    assert wire.path_after("/v2/ticker/btcusd", "/v1/pubticker/") is None


def test_latest_quotes_quotes_every_trade_and_keeps_the_latest_per_asset() -> None:
    seen: list[tuple[str, int, float]] = []

    def quote_of(trade: tuple[str, int], received_ts: float) -> Quote | None:
        asset, ms = trade
        seen.append((asset, ms, received_ts))
        return None if asset == "EUR" else _quote(asset, str(ms), ms)

    trades = [("BTC", 3000), ("EUR", 5000), ("BTC", 1000), ("ETH", 2000), ("BTC", 3000)]
    assert wire.latest_quotes(trades, quote_of, RECEIVED) == [
        Quote("BTC", "3000", 3000.0, 3.0, RECEIVED, "test-ws"),
        Quote("ETH", "2000", 2000.0, 2.0, RECEIVED, "test-ws"),
    ]
    assert seen == [(asset, ms, RECEIVED) for asset, ms in trades]
    assert wire.latest_quotes([("ETH", 7000)], quote_of, RECEIVED) == [
        Quote("ETH", "7000", 7000.0, 7.0, RECEIVED, "test-ws")]
    assert wire.latest_quotes([("EUR", 7000)], quote_of, RECEIVED) == []
    assert wire.latest_quotes([], quote_of, RECEIVED) == []


def test_latest_quotes_lets_a_bad_trade_spoil_the_frame() -> None:
    def quote_of(ms: int, received_ts: float) -> Quote | None:
        if ms < 0:
            raise MalformedFrame("bad trade")
        return _quote("BTC", "1", ms)

    with pytest.raises(MalformedFrame):
        wire.latest_quotes([1000, -1, 2000], quote_of, RECEIVED)


def test_symbol_cache_answers_as_the_function_and_asks_it_once_per_symbol() -> None:
    asked: list[str] = []

    def asset_of(symbol: str) -> str | None:
        asked.append(symbol)
        return symbol.removesuffix("-USD") if symbol.endswith("-USD") else None

    cached = wire.symbol_cache(asset_of)
    answers = [cached(symbol) for symbol in ["BTC-USD", "BTC-EUR", "BTC-USD", "ETH-USD", "BTC-EUR"]]
    assert answers == ["BTC", None, "BTC", "ETH", None]
    assert asked == ["BTC-USD", "BTC-EUR", "ETH-USD"]


_TIMES = msgspec.json.Decoder(list[wire.UtcTime])


def test_utc_time_gives_the_epoch_parse_rfc3339_gives() -> None:
    texts = ["2026-09-30T12:00:00Z", "2026-09-30T02:39:59.416138Z", "2026-10-01T00:00:00.47Z",
             "2026-10-01T00:00:00.221926Z", "2026-09-30T14:00:00.5+02:00"]
    decoded = _TIMES.decode(msgspec.json.encode(texts))
    assert [moment.timestamp() for moment in decoded] == [parse_rfc3339(t) for t in texts]
    # More than six fraction digits: rounded to the microsecond.
    (nanos,) = _TIMES.decode(b'["2026-09-30T12:00:00.123456789Z"]')
    assert nanos.timestamp() == 1790769600.123457


@pytest.mark.parametrize("text", ["2026-09-30T12:00:00", "2026-09-30T23:59:60Z",
                                  "2026-09-30T12:00Z", "yesterday"])
def test_utc_time_refuses_what_the_general_path_must_judge(text: str) -> None:
    # No offset, a leap second, no seconds: parse_rfc3339 reads the first three (general path).
    with pytest.raises(msgspec.ValidationError):
        _TIMES.decode(msgspec.json.encode([text]))
