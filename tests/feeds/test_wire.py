"""The wire-format helpers the adapters share (``feeds/wire.py``)."""

from __future__ import annotations

import msgspec
import pytest

from tests.feeds.helpers import RECEIVED
from trinity_beast.feeds import registry, wire
from trinity_beast.feeds.base import MalformedFrame
from trinity_beast.prices.quote import Quote


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
