"""How cryptofeed 2.4.1 is driven on our recorded frames, offline (bench environment only).

cryptofeed processes a frame in production as ``await feed.message_handler(msg, conn, ts)``
(``ConnectionHandler._handler``), with the user's callbacks awaited per trade. Its feeds fetch
their symbol tables over REST when constructed; there is no network here, so
:func:`build_feed` fills cryptofeed's own symbol cache (``cryptofeed.symbols.Symbols``, which
``Exchange.symbol_mapping()`` reads first) with the symbols of the frames, exactly what its
``_parse_symbol_data`` would have stored for them, before constructing the feed.

Two venues changed protocol after cryptofeed 2.4.1 was written, and its handlers do not
understand the frames we record (see :func:`native_outcome`):

* Gemini: cryptofeed speaks the v2 market-data API (``{"type":"trade","symbol":"BTCUSD",...}``);
  we speak the new ``wss://ws.gemini.com`` stream (``{"E":..,"s":"btcusd","p":..}``).
* Kraken: cryptofeed speaks WebSocket v1 (``[chan, [[price, vol, time, side, type, misc]],
  "trade", "XBT/USD"]``); we speak v2 (``{"channel":"trade","data":[{...}]}``).

For those two, cryptofeed is timed on the same trades re-encoded in the protocol it speaks
(:func:`gemini_v2_frame`, :func:`kraken_v1_frame`): same trades, same symbols, same price texts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptofeed import exchanges  # type: ignore[import-untyped]
from cryptofeed.connection import WSAsyncConn  # type: ignore[import-untyped]
from cryptofeed.defines import SPOT, TRADES  # type: ignore[import-untyped]
from cryptofeed.feed import Feed  # type: ignore[import-untyped]
from cryptofeed.symbols import Symbols  # type: ignore[import-untyped]

SymbolPairs = Iterable[tuple[str, str]]
"""(cryptofeed's normalized symbol ``BTC-USD``, the exchange's symbol) pairs."""

_BYBIT_SPOT_QUOTE = re.compile(r"(USDT|USDC|EUR|BTC|ETH|DAI|BRZ)$")
"""cryptofeed's own ``Bybit.convert_to_spot_name`` rule (``BTCUSDT`` → ``BTC/USDT``)."""
_KRAKEN_V1_BASES = {"BTC": "XBT", "DOGE": "XDG"}


def _coinbase_symbols(msg: Any) -> SymbolPairs:
    for event in msg["events"]:
        for trade in event["trades"]:
            yield trade["product_id"], trade["product_id"]


def _gateio_symbols(msg: Any) -> SymbolPairs:
    pair = msg["result"]["currency_pair"]
    yield pair.replace("_", "-"), pair


def _bybit_symbols(msg: Any) -> SymbolPairs:
    for trade in msg["data"]:
        spot = _BYBIT_SPOT_QUOTE.sub(r"/\1", trade["s"])
        yield spot.replace("/", "-"), spot


def _okx_symbols(msg: Any) -> SymbolPairs:
    for trade in msg["data"]:
        yield trade["instId"], trade["instId"]


def _gemini_v2_symbols(msg: Any) -> SymbolPairs:
    symbol = msg["symbol"]
    yield f"{symbol[:-3]}-{symbol[-3:]}", symbol


def _kraken_v1_symbols(msg: Any) -> SymbolPairs:
    pair = msg[-1]
    base, quote = pair.split("/")
    for v1, std in _KRAKEN_V1_BASES.items():
        base = std if base == v1 else base
    yield f"{base}-{quote}", pair


def gemini_v2_frame(frame: str) -> str:
    """One fast-API trade as the v2 market-data trade message cryptofeed's handler reads."""
    trade = json.loads(frame)
    return json.dumps({
        "type": "trade", "symbol": trade["s"].upper(), "event_id": trade["t"],
        "timestamp": trade["E"] // 1_000_000, "price": trade["p"], "quantity": trade["q"],
        "side": "sell" if trade["m"] else "buy",
    }, separators=(",", ":"))


def kraken_v1_frame(frame: str) -> str:
    """One v2 trade frame as the v1 ``[chan, trades, "trade", pair]`` frame cryptofeed reads."""
    message = json.loads(frame, parse_float=str, parse_int=str)
    symbols = {trade["symbol"] for trade in message["data"]}
    if len(symbols) != 1:
        raise ValueError(f"a v1 frame carries one pair; this frame has {sorted(symbols)}")
    base, quote = symbols.pop().split("/")
    trades = [
        [trade["price"], trade["qty"],
         f"{datetime.fromisoformat(trade['timestamp'].replace('Z', '+00:00')).timestamp():.6f}",
         "b" if trade["side"] == "buy" else "s", "l" if trade["ord_type"] == "limit" else "m", ""]
        for trade in message["data"]
    ]
    return json.dumps([119930881, trades, "trade", f"{_KRAKEN_V1_BASES.get(base, base)}/{quote}"],
                      separators=(",", ":"))


@dataclass(frozen=True)
class Side:
    """How cryptofeed handles one venue."""

    feed_class: type[Feed]
    address: str
    """The WebSocket address cryptofeed would connect to (Bybit reads the market from it)."""
    symbols: Callable[[Any], SymbolPairs]
    """Symbols of one decoded frame in the protocol cryptofeed speaks."""
    translate: Callable[[str], str] | None = None
    """Our frame → the protocol cryptofeed speaks; ``None`` when it reads our frames as they are."""


SIDES: dict[str, Side] = {
    "coinbase": Side(exchanges.Coinbase, "wss://advanced-trade-ws.coinbase.com",
                     _coinbase_symbols),
    "gemini": Side(exchanges.Gemini, "wss://api.gemini.com/v2/marketdata/", _gemini_v2_symbols,
                   gemini_v2_frame),
    "kraken": Side(exchanges.Kraken, "wss://ws.kraken.com", _kraken_v1_symbols, kraken_v1_frame),
    "gateio": Side(exchanges.Gateio, "wss://api.gateio.ws/ws/v4/", _gateio_symbols),
    "bybit": Side(exchanges.Bybit, "wss://stream.bybit.com/v5/public/spot", _bybit_symbols),
    "okx": Side(exchanges.OKX, "wss://ws.okx.com:8443/ws/v5/public", _okx_symbols),
}


class Driver:
    """A cryptofeed feed, the (unopened) connection it reads from, and its trades callback."""

    def __init__(self, side: Side, symbols: list[str]) -> None:
        self.trades: list[tuple[str, Decimal]] = []
        self.keep_trades = False
        self.conn = WSAsyncConn(side.address, side.feed_class.id)
        self.feed = side.feed_class(symbols=symbols, channels=[TRADES],
                                    callbacks={TRADES: self.on_trade})
        self.handler: Callable[[str, WSAsyncConn, float], Awaitable[None]] = (
            self.feed.message_handler)

    async def on_trade(self, trade: Any, _receipt_ts: float) -> None:
        if self.keep_trades:
            self.trades.append((trade.symbol, trade.price))


def build_feed(name: str, frames: list[str]) -> Driver:
    """cryptofeed's feed for ``name``, its symbol cache filled from ``frames`` (its protocol)."""
    side = SIDES[name]
    mapping: dict[str, str] = {}
    for frame in frames:
        mapping.update(side.symbols(json.loads(frame)))
    info = {"instrument_type": dict.fromkeys(mapping, SPOT)}
    Symbols.set(side.feed_class.id, mapping, info)
    return Driver(side, sorted(mapping))


def cryptofeed_frames(name: str, frames: list[str]) -> list[str]:
    """The frames cryptofeed is timed on: ours, or the same trades in the protocol it speaks."""
    translate = SIDES[name].translate
    return list(frames) if translate is None else [translate(frame) for frame in frames]


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage()[:120])


async def native_outcome(name: str, frames: list[str]) -> dict[str, Any]:
    """What cryptofeed makes of our frames exactly as recorded: trades, errors, warnings."""
    try:
        driver = build_feed(name, cryptofeed_frames(name, frames))
    except Exception as exc:
        return {"understood": False, "error": repr(exc)[:200]}
    driver.keep_trades = True
    counter = _Counter()
    logger = logging.getLogger("feedhandler")
    logger.addHandler(counter)
    errors: list[str] = []
    try:
        for frame in frames:
            try:
                await driver.handler(frame, driver.conn, 0.0)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:120])
    finally:
        logger.removeHandler(counter)
    return {
        "understood": bool(driver.trades) and not errors and not counter.records,
        "frames": len(frames), "trades": len(driver.trades), "exceptions": len(errors),
        "first_exception": errors[0] if errors else None, "warnings": len(counter.records),
        "first_warning": counter.records[0] if counter.records else None,
    }
