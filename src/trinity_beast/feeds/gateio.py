"""Gate.io spot WebSocket v4: USDT trades from ``spot.trades``, plus the REST ticker fallback.

Wire facts (EXCHANGES.md §4, docs/feeds/gateio.md): pairs are ``BTC_USDT``; one subscribe request
carries every pair in ``payload`` and gets one ack; every trade arrives in its own frame with the
trade object in ``result``; ``create_time_ms`` is a decimal *string* of milliseconds
(``"1672832218630.0"``), absent from frames recorded before 2022, which carry only the whole
second ``create_time``. The client keeps the connection alive with ``spot.ping``.
"""

from __future__ import annotations

import math
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

TRADES_CHANNEL = "spot.trades"
PAIR_SUFFIX = "_USDT"
TICKERS_PATH = "/api/v4/spot/tickers"



class _Envelope(msgspec.Struct, frozen=True, gc=False):
    """Every server frame: ``{"time","time_ms","channel","event","result",...}``."""

    channel: str = ""
    event: str = ""
    result: msgspec.Raw = msgspec.Raw()


class _Trade(msgspec.Struct, frozen=True, gc=False):
    """``result`` of a ``spot.trades`` update (``id``, ``side``, ``amount`` are not needed)."""

    currency_pair: str
    price: str
    create_time: int | None = None
    create_time_ms: str | None = None


class _TradeFrame(msgspec.Struct, frozen=True, gc=False):
    """The fast path's view of a frame (see ``wire``): envelope and trade decoded at once."""

    result: _Trade
    channel: str = ""
    event: str = ""


class _Ticker(msgspec.Struct, frozen=True, gc=False):
    """One row of ``GET /api/v4/spot/tickers``."""

    currency_pair: str
    last: str


class _RestError(msgspec.Struct, frozen=True, gc=False):
    """Gate's REST error body: ``{"label":"INVALID_CURRENCY_PAIR","message":"..."}``."""

    label: str
    message: str = ""


class _Request(msgspec.Struct, frozen=True, gc=False):
    """A client request as the replay exchange reads it."""

    time: int
    channel: str
    event: str = ""
    payload: list[str] = []
    id: int | None = None


_TRADE_FRAME = msgspec.json.Decoder(_TradeFrame)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_TRADE = msgspec.json.Decoder(_Trade)
_TICKERS = msgspec.json.Decoder(list[_Ticker])
_REST_ERROR = msgspec.json.Decoder(_RestError)
_REQUEST = msgspec.json.Decoder(_Request)


@wire.symbol_cache
def asset_of(pair: str) -> str | None:
    """The asset of a USDT spot pair (``BTC_USDT`` → ``BTC``); ``None`` for every other pair."""
    if pair.endswith(PAIR_SUFFIX) and len(pair) > len(PAIR_SUFFIX):
        return pair[: -len(PAIR_SUFFIX)]
    return None


def _trade_time(trade: _Trade) -> float:
    """Epoch seconds of a trade: ``create_time_ms`` when present, else ``create_time``."""
    text = trade.create_time_ms
    if text is None:
        if trade.create_time is None or trade.create_time <= 0:
            raise MalformedFrame("gateio trade has neither create_time_ms nor create_time")
        return float(trade.create_time)
    try:
        seconds = float(text) / 1000.0
    except ValueError as exc:
        raise MalformedFrame(f"gateio create_time_ms {text!r} is not milliseconds") from exc
    if not 0.0 < seconds < math.inf:  # also false for NaN
        raise MalformedFrame(f"gateio create_time_ms {text!r} is out of range")
    return seconds


class GateioAdapter(ExchangeAdapter):
    """Gate.io spot v4 trades. ``clock`` gives the ``time`` field every request must carry."""

    name = "gateio"
    source = "gateio-ws"
    rest_source = "gateio-rest"
    ws_url = "wss://api.gateio.ws/ws/v4/"
    rest_url = "https://api.gateio.ws"
    ws_path = "/gateio/ws/v4/"
    keepalive_seconds = 15.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def symbol(self, asset: str) -> str:
        return f"{asset.upper()}{PAIR_SUFFIX}"

    def subscribe_messages(self, assets: Sequence[str]) -> list[str]:
        return self._requests("subscribe", assets)

    def unsubscribe_messages(self, assets: Sequence[str]) -> list[str]:
        return self._requests("unsubscribe", assets)

    def _requests(self, event: str, assets: Sequence[str]) -> list[str]:
        if not assets:
            return []
        request = {
            "time": int(self._clock()),
            "channel": TRADES_CHANNEL,
            "event": event,
            "payload": [self.symbol(asset) for asset in assets],
        }
        return [wire.encode_text(request)]

    def keepalive_message(self) -> str:
        return wire.encode_text({"time": int(self._clock()), "channel": "spot.ping"})

    def parse(self, frame: str | bytes, received_ts: float) -> Parsed:
        try:
            message = _TRADE_FRAME.decode(frame)
        except wire.DECODE_ERRORS:
            return self._parse_general(frame, received_ts)
        if message.event != "update":
            return CONTROL
        if message.channel != TRADES_CHANNEL:
            return DATA_WITHOUT_QUOTES
        return self._trade_quotes(message.result, received_ts)

    def _parse_general(self, frame: str | bytes, received_ts: float) -> Parsed:
        """Any frame the fast decoder refuses: the envelope first, the trade only when it is."""
        envelope = wire.decode_frame(_ENVELOPE, frame, "gateio frame")
        if envelope.event != "update":
            return CONTROL
        if envelope.channel != TRADES_CHANNEL:
            return DATA_WITHOUT_QUOTES
        trade = wire.decode_frame(_TRADE, envelope.result, "gateio trade")
        return self._trade_quotes(trade, received_ts)

    def _trade_quotes(self, trade: _Trade, received_ts: float) -> Parsed:
        asset = asset_of(trade.currency_pair)
        if asset is None:
            return DATA_WITHOUT_QUOTES
        price, value = wire.frame_price(trade.price, "gateio")
        quote = Quote(asset, price, value, _trade_time(trade), received_ts, self.source)
        return Parsed((quote,), True)

    def rest_ticker_path(self, asset: str) -> str:
        return f"{TICKERS_PATH}?currency_pair={self.symbol(asset)}"

    def parse_rest_ticker(self, body: bytes, asset: str, received_ts: float) -> Quote:
        try:
            rows = _TICKERS.decode(body)
        except wire.DECODE_ERRORS as exc:
            raise MalformedFrame(f"gateio ticker: {_rest_error_text(body, exc)}") from exc
        pair = self.symbol(asset)
        if not rows or rows[0].currency_pair != pair:
            raise MalformedFrame(f"gateio ticker answer does not hold {pair}")
        price, value = wire.frame_price(rows[0].last, "gateio")
        return Quote(asset.upper(), price, value, received_ts, received_ts, self.rest_source)


def _rest_error_text(body: bytes, exc: Exception) -> str:
    """Gate's own words when the body is one of its error answers, else the decoder's."""
    try:
        error = _REST_ERROR.decode(body)
    except wire.DECODE_ERRORS:
        return str(exc)
    return f"{error.label}: {error.message}"


# The replay exchange's side. Reply templates: the envelope of the recorded 2025 ack
# (gate-announcement-45317: time, time_ms, conn_id, trace_id, ..., result), the pong and the error
# object of the v4 WebSocket docs (code 1: bad request body, worded as Gate worded it in
# gateio/WebSocket-API issue 20; code 2: invalid argument), and the REST error body that Gate
# answers with HTTP 400.
_CONN_ID = "b61f70b2e6bcca91"
_TRACE_ID = "d2e2d92c3a7eabc3d5be52514ef508d2"
_SCHEMA_ERROR = (1, "request payload does not follow json schema")


class GateioReplay(ReplayProtocol):
    """Answers our adapter the way Gate.io does; ``clock`` stamps the replies."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def handle(self, text: str) -> ReplayReply:
        try:
            request = _REQUEST.decode(text)
        except wire.DECODE_ERRORS:
            return self._answer(_Request(0, ""), error=_SCHEMA_ERROR)
        if request.channel == "spot.ping":
            return self._answer(request, channel="spot.pong")
        problem = _request_problem(request)
        if problem is not None:
            return self._answer(request, error=(2, problem))
        assets = [asset_of(pair) or "" for pair in request.payload]
        if request.event == "subscribe":
            return self._answer(request)._replace(subscribe=assets)
        return self._answer(request)._replace(unsubscribe=assets)

    def _answer(self, request: _Request, *, channel: str | None = None,
                error: tuple[int, str] | None = None) -> ReplayReply:
        """One reply frame: an ack, a pong (``channel="spot.pong"``) or an error."""
        now = self._clock()
        reply: dict[str, Any] = {"time": int(now), "time_ms": int(now * 1000)}
        if request.id is not None:
            reply["id"] = request.id
        reply.update(conn_id=_CONN_ID, trace_id=_TRACE_ID, channel=channel or request.channel,
                     event=request.event)
        if request.payload:
            reply["payload"] = request.payload
        if error is not None:
            reply["error"] = {"code": error[0], "message": error[1]}
        acked = error is None and channel is None
        reply["result"] = {"status": "success"} if acked else None
        return ReplayReply((wire.encode_text(reply),))

    def rest_ticker(self, path_qs: str, prices: dict[str, str]) -> tuple[int, str] | None:
        query = wire.request_query(path_qs, TICKERS_PATH)
        if query is None:
            return None
        pairs = query.get("currency_pair")
        if pairs is None:
            rows = [_ticker_row(asset, price) for asset, price in sorted(prices.items())]
            return 200, wire.encode_text(rows)
        asset = asset_of(pairs[0])
        if asset is None or asset not in prices:
            error = f"Invalid currency pair {pairs[0]}"
            body = {"label": "INVALID_CURRENCY_PAIR", "message": error}
            return 400, wire.encode_text(body)
        return 200, wire.encode_text([_ticker_row(asset, prices[asset])])


def _request_problem(request: _Request) -> str | None:
    """Why Gate would refuse this request (error code 2), or ``None``."""
    if request.channel != TRADES_CHANNEL:
        return f"unknown channel {request.channel}"
    if request.event not in ("subscribe", "unsubscribe"):
        return f"unknown event {request.event}"
    if not request.payload:
        return "empty payload"
    bad = [pair for pair in request.payload if asset_of(pair) is None]
    return f"unknown currency pair {bad[0]}" if bad else None


def _ticker_row(asset: str, price: str) -> dict[str, str]:
    """A ticker row in the recorded 2026 shape; only the prices are known, the rest is zero."""
    return {
        "currency_pair": f"{asset}{PAIR_SUFFIX}", "last": price, "lowest_ask": price,
        "lowest_size": "0", "highest_bid": price, "highest_size": "0", "change_percentage": "0",
        "base_volume": "0", "quote_volume": "0", "high_24h": price, "low_24h": price,
    }


ADAPTER = GateioAdapter()
REPLAY = GateioReplay()
