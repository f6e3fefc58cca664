"""Gemini: the ``<symbol>@trade`` streams of the new ``wss://ws.gemini.com`` API (not v1/v2).

Protocol facts (``EXCHANGES.md`` §2): symbols are lower-case without separator (``btcusd``);
frames are Binance-like single objects; a trade is ``{"E":ns,"s","t","p","q","m"}`` with the
event time ``E`` in **nanoseconds** and no ``e`` field; requests are answered with
``{"id":..,"status":200}``. The server sends no heartbeats, so the client pings every 30 s.
The REST fallback is ``/v1/pubticker/{symbol}`` whose ``last`` is the last trade price.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

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
from trinity_beast.prices.quote import Quote, checked_price

_USD = "usd"
_NOT_USD_SUFFIXES = ("gusd",)
"""``btcgusd`` is BTC quoted in GUSD, not an asset ``BTCG`` quoted in USD."""
_TRADE_STREAM = "@trade"
_TICKER_PATH = "/v1/pubticker/"


# Wire formats: one flat object per frame; the fields say what it is.
class _Message(msgspec.Struct, frozen=True, gc=False):
    symbol: str | None = msgspec.field(default=None, name="s")
    """Present on every market-data event; absent from request replies."""
    event_type: str | None = msgspec.field(default=None, name="e")
    """Set on ``depthUpdate``; trades carry none."""
    trade_id: int | None = msgspec.field(default=None, name="t")
    event_ns: int | None = msgspec.field(default=None, name="E")
    price: str | None = msgspec.field(default=None, name="p")


class _Volume(msgspec.Struct, frozen=True, gc=False):
    timestamp: int | str | None = None
    """Milliseconds; a number on the wire, a string in some recordings."""


class _PubTicker(msgspec.Struct, frozen=True, gc=False):
    last: str | None = None
    volume: _Volume | None = None


class _ClientRequest(msgspec.Struct, frozen=True, gc=False):
    method: str
    id: str | int | None = None
    params: list[str] = []


_MESSAGE = msgspec.json.Decoder(_Message)
_PUB_TICKER = msgspec.json.Decoder(_PubTicker)
_CLIENT_REQUEST = msgspec.json.Decoder(_ClientRequest)


@wire.symbol_cache
def _asset_of(symbol: str) -> str | None:
    """``btcusd`` → ``BTC``; ``None`` for other quotes and products (``btcusdt``, ``btcgusd``)."""
    usd_pair = symbol.endswith(_USD) and not symbol.endswith(_NOT_USD_SUFFIXES)
    if usd_pair and len(symbol) > len(_USD):
        return symbol[: -len(_USD)].upper()
    return None


class GeminiAdapter(ExchangeAdapter):
    name = "gemini"
    source = "gemini-ws"
    rest_source = "gemini-rest"
    ws_url = "wss://ws.gemini.com"
    rest_url = "https://api.gemini.com"
    ws_path = "/gemini"
    keepalive_seconds = 30.0

    def symbol(self, asset: str) -> str:
        return f"{asset.lower()}{_USD}"

    def subscribe_messages(self, assets: Sequence[str]) -> list[str]:
        return self._request("subscribe", assets)

    def unsubscribe_messages(self, assets: Sequence[str]) -> list[str]:
        return self._request("unsubscribe", assets)

    def _request(self, method: str, assets: Sequence[str]) -> list[str]:
        streams = list(dict.fromkeys(f"{self.symbol(asset)}{_TRADE_STREAM}" for asset in assets))
        if not streams:
            return []
        return [wire.encode_text({"id": method, "method": method, "params": streams})]

    def keepalive_message(self) -> str:
        return '{"id":"ping","method":"ping"}'

    def parse(self, frame: str | bytes, received_ts: float) -> Parsed:
        message = wire.decode_frame(_MESSAGE, frame, "gemini")
        if message.symbol is None:
            return CONTROL  # request replies: {"id":..,"status":..}
        if message.trade_id is None or message.event_type not in (None, "trade"):
            return DATA_WITHOUT_QUOTES  # bookTicker, depthUpdate: alive, but not trades
        price, value = wire.frame_price(message.price, "gemini trade", message.symbol)
        if message.event_ns is None:
            raise MalformedFrame(f"gemini trade {message.symbol} has no event time E")
        asset = _asset_of(message.symbol)
        if asset is None:
            return DATA_WITHOUT_QUOTES
        exchange_ts = message.event_ns / 1_000_000_000
        return Parsed((Quote(asset, price, value, exchange_ts, received_ts, self.source),), True)

    def rest_ticker_path(self, asset: str) -> str:
        return f"{_TICKER_PATH}{self.symbol(asset)}"

    def parse_rest_ticker(self, body: bytes, asset: str, received_ts: float) -> Quote:
        ticker = wire.decode_frame(_PUB_TICKER, body, "gemini")
        try:
            price, value = checked_price(ticker.last)
            stamp = ticker.volume.timestamp if ticker.volume else None
            exchange_ts = int(stamp) / 1000 if stamp is not None else received_ts
        except ValueError as exc:
            raise MalformedFrame(f"gemini REST ticker {asset}: {exc}") from exc
        return Quote(asset.upper(), price, value, exchange_ts, received_ts, self.rest_source)


# --- The server side, for the replay exchange -------------------------------------------------
# Recorded frames (tests/fixtures/exchanges/gemini/, see PROVENANCE.md there) used as templates.
_ACK_TEMPLATE = '{"id":"md","status":200}'
_TIME_TEMPLATE = '{"id":"time","status":200,"result":{"serverTime":1790732602153}}'
_TICKER_TEMPLATE = (
    '{"bid":"73367.96","ask":"73385.27","last":"73268.24","volume":{"BTC":"3.5434218",'
    '"USDT":"259620.278863632","timestamp":"1710328245000"}}'
)
_ERROR_TEMPLATE = '{"id":7,"status":401,"error":{"code":-1002,"msg":"Authentication required"}}'
"""The documented error shape (EXCHANGES.md §2). The replay answers a refusal with status 400 and
code -1000 (Binance-style "unknown" code): the venue's own code for it is not recorded."""
_REPLIED_METHODS = frozenset({"subscribe", "unsubscribe", "ping"})


class GeminiReplay(ReplayProtocol):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def handle(self, text: str) -> ReplayReply:
        try:
            request = _CLIENT_REQUEST.decode(text)
        except wire.DECODE_ERRORS:
            return ReplayReply(replies=[self._error(None, "Malformed request")])
        if request.method == "time":
            reply = msgspec.json.decode(_TIME_TEMPLATE)
            reply.update(id=request.id, result={"serverTime": int(self._clock() * 1000)})
            return ReplayReply(replies=[wire.encode_text(reply)])
        if request.method not in _REPLIED_METHODS:
            return ReplayReply(replies=[self._error(request.id, "Unknown method")])
        ack = msgspec.json.decode(_ACK_TEMPLATE)
        ack["id"] = request.id
        assets = [
            asset
            for stream in dict.fromkeys(request.params)
            if stream.endswith(_TRADE_STREAM)
            and (asset := _asset_of(stream[: -len(_TRADE_STREAM)])) is not None
        ]
        if request.method == "unsubscribe":
            return ReplayReply(replies=[wire.encode_text(ack)], unsubscribe=assets)
        if request.method == "subscribe":
            return ReplayReply(replies=[wire.encode_text(ack)], subscribe=assets)
        return ReplayReply(replies=[wire.encode_text(ack)])

    def _error(self, request_id: str | int | None, message: str) -> str:
        reply = msgspec.json.decode(_ERROR_TEMPLATE)
        reply.update(id=request_id, status=400)
        reply["error"].update(code=-1000, msg=message)
        return wire.encode_text(reply)

    def rest_ticker(self, path_qs: str, prices: dict[str, str]) -> tuple[int, str] | None:
        requested = wire.path_after(path_qs, _TICKER_PATH)
        if requested is None:
            return None
        symbol = requested.lower()
        asset = _asset_of(symbol)
        if asset is None or asset not in prices:
            return 404, f"'{symbol}' does not have available data yet"
        body = msgspec.json.decode(_TICKER_TEMPLATE)
        price = prices[asset]
        base_volume, quote_volume, _ = body["volume"].values()
        stamp = str(int(self._clock() * 1000))
        body.update(bid=price, ask=price, last=price)
        body["volume"] = {asset: base_volume, "USD": quote_volume, "timestamp": stamp}
        return 200, wire.encode_text(body)


ADAPTER = GeminiAdapter()
REPLAY = GeminiReplay()
