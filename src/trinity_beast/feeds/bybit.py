"""Bybit v5 public spot: USDT trades from ``publicTrade.<SYMBOL>``, plus the REST ticker fallback.

Wire facts (EXCHANGES.md §5, docs/feeds/bybit.md): symbols are ``BTCUSDT``; a spot subscribe
request may carry at most 10 args (more are refused with ``args size >10``); a trade frame batches
one or more trades in ``data`` with ``T`` in epoch milliseconds and ``p`` the price text; ``type``
is always ``snapshot`` even for live pushes. Trades carrying ``L`` (tick direction) are derivative
trades (linear/inverse), which the spot endpoint never sends; they are not spot prices.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from trinity_beast.feeds import wire
from trinity_beast.feeds.base import (
    CONTROL,
    DATA_WITHOUT_QUOTES,
    ExchangeAdapter,
    MalformedFrame,
    Parsed,
    ReplayProtocol,
    ReplayReply,
)
from trinity_beast.prices.quote import Quote

TRADE_TOPIC = "publicTrade."
SYMBOL_SUFFIX = "USDT"
MAX_ARGS_PER_REQUEST = 10
TICKERS_PATH = "/v5/market/tickers"



class _Envelope(msgspec.Struct, frozen=True, gc=False):
    """Every server frame; control frames (acks, pongs) have no ``topic``."""

    topic: str = ""
    data: msgspec.Raw = msgspec.Raw()


class _Trade(msgspec.Struct, frozen=True, gc=False):
    """One entry of a ``publicTrade`` frame's ``data`` (``i``, ``v``, ``S``, ``seq`` unused)."""

    symbol: str = msgspec.field(name="s")
    time_ms: int = msgspec.field(name="T")
    price: str = msgspec.field(name="p")
    tick_direction: str | None = msgspec.field(default=None, name="L")


class _TradeFrame(msgspec.Struct, frozen=True, gc=False):
    """The fast path's view of a trade frame (see ``wire``): envelope and trades at once."""

    data: list[_Trade]
    topic: str = ""


class _TickerRow(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    symbol: str
    last_price: str


class _TickerResult(msgspec.Struct, frozen=True, gc=False):
    rows: list[_TickerRow] = msgspec.field(default_factory=list, name="list")


class _TickerAnswer(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """``GET /v5/market/tickers``; ``retCode``/``time``: integers live, strings in ccxt's copy."""

    ret_code: int | str
    ret_msg: str = ""
    result: _TickerResult | None = None
    time: int | str | None = None


class _Request(msgspec.Struct, frozen=True, gc=False):
    """A client request as the replay exchange reads it."""

    op: str
    args: list[str] = []
    req_id: str | None = None


_TRADE_FRAME = msgspec.json.Decoder(_TradeFrame)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_TRADES = msgspec.json.Decoder(list[_Trade])
_TICKER_ANSWER = msgspec.json.Decoder(_TickerAnswer)
_REQUEST = msgspec.json.Decoder(_Request)


@wire.symbol_cache
def asset_of(symbol: str) -> str | None:
    """The asset of a USDT spot symbol (``BTCUSDT`` → ``BTC``); ``None`` for every other one."""
    if symbol.endswith(SYMBOL_SUFFIX) and len(symbol) > len(SYMBOL_SUFFIX):
        return symbol[: -len(SYMBOL_SUFFIX)]
    return None


def _millis(value: int | str | None) -> int | None:
    """A positive millisecond count sent as a JSON integer or a digit string, else ``None``."""
    if isinstance(value, str):
        value = int(value) if value.isascii() and value.isdigit() and len(value) < 20 else None
    return value if value is not None and value > 0 else None


class BybitAdapter(ExchangeAdapter):
    """Bybit v5 spot public trades."""

    name = "bybit"
    source = "bybit-ws"
    rest_source = "bybit-rest"
    ws_url = "wss://stream.bybit.com/v5/public/spot"
    rest_url = "https://api.bybit.com"
    ws_path = "/bybit/v5/public/spot"
    keepalive_seconds = 20.0

    def symbol(self, asset: str) -> str:
        return f"{asset.upper()}{SYMBOL_SUFFIX}"

    def subscribe_messages(self, assets: Sequence[str]) -> list[str]:
        return self._requests("subscribe", "sub", assets)

    def unsubscribe_messages(self, assets: Sequence[str]) -> list[str]:
        return self._requests("unsubscribe", "unsub", assets)

    def _requests(self, op: str, id_prefix: str, assets: Sequence[str]) -> list[str]:
        """One request per 10 topics, ``req_id`` numbered within the call (``sub1``, ``sub2``…)."""
        topics = [f"{TRADE_TOPIC}{self.symbol(asset)}" for asset in assets]
        return [
            wire.encode_text({"req_id": f"{id_prefix}{number}", "op": op, "args": chunk})
            for number, chunk in enumerate(_chunks(topics, MAX_ARGS_PER_REQUEST), start=1)
        ]

    def keepalive_message(self) -> str:
        return '{"req_id":"ping","op":"ping"}'

    def parse(self, frame: str | bytes, received_ts: float) -> Parsed:
        try:
            message = _TRADE_FRAME.decode(frame)
        except wire.DECODE_ERRORS:
            return self._parse_general(frame, received_ts)
        if not message.topic:
            return CONTROL
        if not message.topic.startswith(TRADE_TOPIC):
            return DATA_WITHOUT_QUOTES
        return self._trade_quotes(message.data, received_ts)

    def _parse_general(self, frame: str | bytes, received_ts: float) -> Parsed:
        """Any frame the fast decoder refuses: the envelope first, trades only when they are."""
        envelope = wire.decode_frame(_ENVELOPE, frame, "bybit frame")
        if not envelope.topic:
            return CONTROL
        if not envelope.topic.startswith(TRADE_TOPIC):
            return DATA_WITHOUT_QUOTES
        trades = wire.decode_frame(_TRADES, envelope.data, "bybit trades")
        return self._trade_quotes(trades, received_ts)

    def _trade_quotes(self, trades: list[_Trade], received_ts: float) -> Parsed:
        return Parsed(wire.latest_quotes(trades, self._trade_quote, received_ts), True)

    def _trade_quote(self, trade: _Trade, received_ts: float) -> Quote | None:
        """The quote of a USDT spot trade; ``None`` for other symbols and derivative trades."""
        asset = asset_of(trade.symbol)
        if asset is None or trade.tick_direction is not None:
            return None
        price, value = wire.frame_price(trade.price, "bybit")
        if trade.time_ms <= 0:
            raise MalformedFrame(f"bybit trade time {trade.time_ms} is not positive")
        return Quote(asset, price, value, trade.time_ms / 1000, received_ts, self.source)

    def rest_ticker_path(self, asset: str) -> str:
        return f"{TICKERS_PATH}?category=spot&symbol={self.symbol(asset)}"

    def parse_rest_ticker(self, body: bytes, asset: str, received_ts: float) -> Quote:
        answer = wire.decode_frame(_TICKER_ANSWER, body, "bybit ticker")
        if str(answer.ret_code) != "0":
            raise MalformedFrame(f"bybit ticker error {answer.ret_code}: {answer.ret_msg}")
        symbol = self.symbol(asset)
        rows = answer.result.rows if answer.result is not None else []
        if not rows or rows[0].symbol != symbol:
            raise MalformedFrame(f"bybit ticker answer does not hold {symbol}")
        price, value = wire.frame_price(rows[0].last_price, "bybit")
        server_ms = _millis(answer.time)
        exchange_ts = server_ms / 1000 if server_ms is not None else received_ts
        return Quote(asset.upper(), price, value, exchange_ts, received_ts, self.rest_source)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


# The replay exchange's side. Templates: the recorded spot ack and pong
# (fastmm_testnet_2026-09-13_ws_control.jsonl, conn_id of the 2025 production capture), the
# refusals "args size >10" (rust-bybit issue 24, with Go's \u003e escape), "Invalid symbol :[...]"
# (recorded) and "Failed to decode incoming data" (bybit api-usage-examples issue 34); the REST
# spot ticker of the v5 docs and its "Not supported symbols" refusal (retCode 10001). Nothing
# recorded shows the reply to an unknown op: "Invalid op: <op>" is our wording.
_CONN_ID = "30ed27a8-ed96-41dd-8608-d239d11df3d6"


def _go_json(value: object) -> str:
    """JSON as Bybit's Go servers write it: ``<``, ``>`` and ``&`` escaped inside strings."""
    text = wire.encode_text(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class BybitReplay(ReplayProtocol):
    """Answers our adapter the way Bybit's spot endpoint does; ``clock`` stamps REST answers."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def handle(self, text: str) -> ReplayReply:
        try:
            request = _REQUEST.decode(text)
        except wire.DECODE_ERRORS as exc:
            message = f"Failed to decode incoming data: {exc}"
            return ReplayReply((_reply(_Request(""), False, message, req_id=""),))
        if request.op == "ping":
            return ReplayReply((_reply(request, True, "pong"),))
        if request.op not in ("subscribe", "unsubscribe"):
            return ReplayReply((_reply(request, False, f"Invalid op: {request.op}"),))
        if len(request.args) > MAX_ARGS_PER_REQUEST:
            return ReplayReply((_reply(request, False, f"args size >{MAX_ARGS_PER_REQUEST}"),))
        assets = [_trade_topic_asset(topic) for topic in request.args]
        invalid = [topic for topic, asset in zip(request.args, assets, strict=True) if not asset]
        if invalid or not assets:
            return ReplayReply((_reply(request, False, f"Invalid symbol :[{' '.join(invalid)}]"),))
        found = [asset for asset in assets if asset]
        ack = ReplayReply((_reply(request, True, request.op),))
        if request.op == "subscribe":
            return ack._replace(subscribe=found)
        return ack._replace(unsubscribe=found)

    def rest_ticker(self, path_qs: str, prices: dict[str, str]) -> tuple[int, str] | None:
        query = wire.request_query(path_qs, TICKERS_PATH)
        if query is None:
            return None
        symbols = query.get("symbol")
        now_ms = int(self._clock() * 1000)
        if query.get("category") != ["spot"]:
            return 200, _rest_refusal(now_ms)
        if symbols is None:
            rows = [_ticker_row(asset, price) for asset, price in sorted(prices.items())]
        else:
            asset = asset_of(symbols[0])
            if asset is None or asset not in prices:
                return 200, _rest_refusal(now_ms)
            rows = [_ticker_row(asset, prices[asset])]
        answer = {"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": rows},
                  "retExtInfo": {}, "time": now_ms}
        return 200, wire.encode_text(answer)


def _trade_topic_asset(topic: str) -> str | None:
    if not topic.startswith(TRADE_TOPIC):
        return None
    return asset_of(topic[len(TRADE_TOPIC) :])


def _reply(request: _Request, success: bool, message: str, *, req_id: str | None = None) -> str:
    """A spot op reply; ``req_id`` is echoed only when the client sent one (as recorded)."""
    reply: dict[str, Any] = {"success": success, "ret_msg": message, "conn_id": _CONN_ID}
    echoed = request.req_id if req_id is None else req_id
    if echoed is not None:
        reply["req_id"] = echoed
    reply["op"] = request.op
    return _go_json(reply)


def _rest_refusal(now_ms: int) -> str:
    refusal = {"retCode": 10001, "retMsg": "Not supported symbols", "result": {},
               "retExtInfo": {}, "time": now_ms}
    return wire.encode_text(refusal)


def _ticker_row(asset: str, price: str) -> dict[str, str]:
    """A spot ticker row in the documented v5 shape; only the prices are known, the rest is 0."""
    return {
        "symbol": f"{asset}{SYMBOL_SUFFIX}", "bid1Price": price, "bid1Size": "0",
        "ask1Price": price, "ask1Size": "0", "lastPrice": price, "prevPrice24h": price,
        "price24hPcnt": "0", "highPrice24h": price, "lowPrice24h": price, "turnover24h": "0",
        "volume24h": "0", "usdIndexPrice": price,
    }


ADAPTER = BybitAdapter()
REPLAY = BybitReplay()
