"""Kraken Spot WebSocket v2: the ``trade`` channel of ``wss://ws.kraken.com/v2``.

Protocol facts (``EXCHANGES.md`` §3): v2 symbols are ``BTC/USD`` (ISO codes); trades arrive as
``{"channel":"trade","type":"update","data":[...]}``, several per frame, with prices as JSON
**numbers** (we keep their raw text, never a float); every subscribed symbol gets its own ack;
the server greets with a ``status`` frame and sends ``{"channel":"heartbeat"}`` when idle.
REST is the older world: ``XBT`` for BTC, ``XDG`` for DOGE, and answers keyed by internal
names such as ``XXBTZUSD``; one ``Ticker`` call serves many pairs (the prewarm batch).

Kraken lists Phala Network as ``PHA``; our asset code is ``PHALA``, mapped both ways here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from trinity_beast.feeds import wire
from trinity_beast.feeds.base import (
    ExchangeAdapter,
    MalformedFrame,
    Parsed,
    ReplayProtocol,
    ReplayReply,
    other_channel,
)
from trinity_beast.prices.quote import Quote, checked_price, parse_rfc3339

_USD = "USD"
_WS_BASES = {"PHALA": "PHA"}
"""Our asset code → Kraken's v2 (WebSocket) code, where they differ."""
_REST_BASES = {"BTC": "XBT", "DOGE": "XDG", "PHALA": "PHA"}
"""Our asset code → Kraken's REST code, where they differ."""
_ASSETS_OF_WS_BASE = {base: asset for asset, base in _WS_BASES.items()}
_ASSETS_OF_REST_BASE = {base: asset for asset, base in _REST_BASES.items()}
_TRADE_CHANNEL = "trade"
_OTHER_DATA_CHANNELS = frozenset({"ticker", "book", "ohlc", "level3"})
"""Market-data channels we do not use: they prove the feed is alive but carry no trades."""
_TICKER_PATH = "/0/public/Ticker"
_PREWARM_SOURCE = "kraken-prewarm"


# Wire formats (only the keys we read; msgspec skips the others).
class _Trade(msgspec.Struct, frozen=True, gc=False):
    symbol: str
    price: msgspec.Raw
    """The JSON number's own text (``5.1e-05`` stays ``5.1e-05``)."""
    timestamp: str


class _Message(msgspec.Struct, frozen=True, gc=False):
    channel: str = ""
    data: msgspec.Raw = msgspec.Raw()
    """Decoded only for ``trade``: status, ticker … carry other shapes."""


# The fast path's view of a trade frame (see ``wire``): decoded whole, times by msgspec.
class _FastTrade(msgspec.Struct, frozen=True, gc=False):
    symbol: str
    price: msgspec.Raw
    timestamp: wire.UtcTime


class _FastMessage(msgspec.Struct, frozen=True, gc=False):
    data: list[_FastTrade]
    channel: str = ""


class _RestTicker(msgspec.Struct, frozen=True, gc=False):
    c: list[str]
    """Last trade: ``[price, lot volume]``."""


class _RestAnswer(msgspec.Struct, frozen=True, gc=False):
    error: list[str] = []
    result: dict[str, _RestTicker] = {}


_FAST_MESSAGE = msgspec.json.Decoder(_FastMessage)
_MESSAGE = msgspec.json.Decoder(_Message)
_TRADES = msgspec.json.Decoder(list[_Trade])
_REST_ANSWER = msgspec.json.Decoder(_RestAnswer)


@wire.symbol_cache
def _asset_of(symbol: str) -> str | None:
    """``BTC/USD`` → ``BTC``, ``PHA/USD`` → ``PHALA``; ``None`` for other quotes (``BTC/USDT``)."""
    base, _, quote = symbol.partition("/")
    if quote != _USD or not base:
        return None
    return _ASSETS_OF_WS_BASE.get(base, base)


def _rest_pair(asset: str) -> str:
    """``BTC`` → ``XBTUSD`` (the altname Kraken's REST API accepts)."""
    asset = asset.upper()
    return f"{_REST_BASES.get(asset, asset)}{_USD}"


def _response_names(asset: str) -> tuple[str, str]:
    """The keys Kraken may answer with: the altname (``ALGOUSD``) or ``X…Z…`` (``XXBTZUSD``)."""
    pair = _rest_pair(asset)
    return pair, f"X{pair[: -len(_USD)]}Z{_USD}"


class KrakenAdapter(ExchangeAdapter):
    name = "kraken"
    source = "kraken-ws"
    rest_source = "kraken-rest"
    ws_url = "wss://ws.kraken.com/v2"
    rest_url = "https://api.kraken.com"
    ws_path = "/kraken/v2"
    keepalive_seconds = 30.0

    def symbol(self, asset: str) -> str:
        asset = asset.upper()
        return f"{_WS_BASES.get(asset, asset)}/{_USD}"

    def subscribe_messages(self, assets: Sequence[str]) -> list[str]:
        symbols = self._symbols(assets)
        if not symbols:
            return []
        params = {"channel": _TRADE_CHANNEL, "symbol": symbols, "snapshot": False}
        return [wire.encode_text({"method": "subscribe", "params": params})]

    def unsubscribe_messages(self, assets: Sequence[str]) -> list[str]:
        symbols = self._symbols(assets)
        if not symbols:
            return []
        params = {"channel": _TRADE_CHANNEL, "symbol": symbols}
        return [wire.encode_text({"method": "unsubscribe", "params": params})]

    def _symbols(self, assets: Sequence[str]) -> list[str]:
        return list(dict.fromkeys(self.symbol(asset) for asset in assets))

    def keepalive_message(self) -> str:
        return '{"method":"ping"}'

    def parse(self, frame: str | bytes, received_ts: float) -> Parsed:
        try:
            message = _FAST_MESSAGE.decode(frame)
        except wire.DECODE_ERRORS:
            return self._parse_general(frame, received_ts)
        if message.channel != _TRADE_CHANNEL:
            return other_channel(message.channel, _OTHER_DATA_CHANNELS)
        quotes = wire.latest_quotes(message.data, self._fast_trade_quote, received_ts)
        return Parsed(tuple(quotes), True)

    def _parse_general(self, frame: str | bytes, received_ts: float) -> Parsed:
        """Any frame the fast decoder refuses: the envelope first, trades only when they are."""
        message = wire.decode_frame(_MESSAGE, frame, "kraken")
        if message.channel != _TRADE_CHANNEL:
            return other_channel(message.channel, _OTHER_DATA_CHANNELS)
        trades = wire.decode_frame(_TRADES, message.data, "kraken")
        return Parsed(tuple(wire.latest_quotes(trades, self._trade_quote, received_ts)), True)

    def _fast_trade_quote(self, trade: _FastTrade, received_ts: float) -> Quote | None:
        """:meth:`_trade_quote` of a trade whose time msgspec has already parsed."""
        price_text = str(trade.price, "ascii", "replace")  # as bytes(raw).decode(...), no copy
        price, value = wire.frame_price(price_text, "kraken trade", trade.symbol)
        return self._quote(trade.symbol, price, value, trade.timestamp.timestamp(), received_ts)

    def _trade_quote(self, trade: _Trade, received_ts: float) -> Quote | None:
        """Validate one trade (every trade, so one bad trade spoils the frame); quote USD ones."""
        try:
            price, value = checked_price(bytes(trade.price))
            exchange_ts = parse_rfc3339(trade.timestamp)
        except (ValueError, OverflowError) as exc:
            raise MalformedFrame(f"kraken trade {trade.symbol}: {exc}") from exc
        return self._quote(trade.symbol, price, value, exchange_ts, received_ts)

    def _quote(self, symbol: str, price: str, value: float, exchange_ts: float,
               received_ts: float) -> Quote | None:
        """The quote of a valid trade; ``None`` unless the pair is quoted in USD."""
        asset = _asset_of(symbol)
        if asset is None:
            return None
        return Quote(asset, price, value, exchange_ts, received_ts, self.source)

    def rest_ticker_path(self, asset: str) -> str:
        return f"{_TICKER_PATH}?pair={_rest_pair(asset)}"

    def parse_rest_ticker(self, body: bytes, asset: str, received_ts: float) -> Quote:
        result = self._rest_result(body)
        asset = asset.upper()
        names = _response_names(asset)
        tickers = [ticker for key, ticker in result.items() if key in names]
        if not tickers and len(result) == 1:
            tickers = list(result.values())  # one pair asked, one answered: whatever its name
        if len(tickers) != 1:
            raise MalformedFrame(f"kraken REST answer has no single ticker for {asset}")
        return self._rest_quote(asset, tickers[0], received_ts, self.rest_source)

    def rest_batch_path(self, assets: Sequence[str]) -> str | None:
        pairs = list(dict.fromkeys(_rest_pair(asset) for asset in assets))
        return f"{_TICKER_PATH}?pair={','.join(pairs)}" if pairs else None

    def parse_rest_batch(
        self, body: bytes, assets: Sequence[str], received_ts: float
    ) -> list[Quote]:
        """Quotes of the answered pairs among ``assets``; keys we did not ask for are ignored."""
        result = self._rest_result(body)
        asset_of_name = {name: a.upper() for a in assets for name in _response_names(a)}
        return [
            self._rest_quote(asset_of_name[key], ticker, received_ts, _PREWARM_SOURCE)
            for key, ticker in result.items()
            if key in asset_of_name
        ]

    def _rest_result(self, body: bytes) -> dict[str, _RestTicker]:
        answer = wire.decode_frame(_REST_ANSWER, body, "kraken")
        if answer.error:
            raise MalformedFrame(f"kraken REST error: {', '.join(answer.error)}")
        return answer.result

    def _rest_quote(
        self, asset: str, ticker: _RestTicker, received_ts: float, source: str
    ) -> Quote:
        last = ticker.c[0] if ticker.c else None
        price, value = wire.frame_price(last, "kraken REST ticker", asset)
        return Quote(asset, price, value, received_ts, received_ts, source)


# --- The server side, for the replay exchange -------------------------------------------------
# Recorded frames (tests/fixtures/exchanges/kraken/, see PROVENANCE.md there) used as templates.
_STATUS_FRAME = (
    '{"channel":"status","data":[{"api_version":"v2","connection_id":8869243459854524911,'
    '"system":"online","version":"2.0.10"}],"type":"update"}'
)
_HEARTBEAT_FRAME = '{"channel":"heartbeat"}'
_ACK_TEMPLATE = (
    '{"method":"subscribe","result":{"channel":"ticker","event_trigger":"trades","snapshot":true,'
    '"symbol":"BTC/USD"},"success":true,"time_in":"2026-03-15T11:25:20.538603Z",'
    '"time_out":"2026-03-15T11:25:20.538627Z"}'
)
_TICKER_TEMPLATE = (
    '{"error":[],"result":{"XXBTZUSD":{"a":["84036.10000","2","2.000"],'
    '"b":["84036.00000","1","1.000"],"c":["84036.00000","0.00112355"],'
    '"v":["702.24523395","3307.38151293"],"p":["84259.58809","84073.56822"],'
    '"t":[33153,135029],"l":["83740.10000","82832.30000"],"h":["84861.80000","84914.80000"],'
    '"o":"84380.00000"}}}'
)
_INVALID_ARGUMENTS = "EGeneral:Invalid arguments"
_UNKNOWN_PAIR_BODY = '{"error":["EQuery:Unknown asset pair"],"result":{}}'
_LEGACY_REST_BASES = frozenset({"XBT", "ETH", "LTC", "XRP", "XLM", "ZEC", "ETC", "XMR", "MLN"})
"""Assets whose REST answers are keyed ``X<base>Z<quote>`` (``XXBTZUSD``); others by altname."""


class _ClientParams(msgspec.Struct, frozen=True, gc=False):
    channel: str = ""
    symbol: list[str] = []
    snapshot: bool = True


class _ClientRequest(msgspec.Struct, frozen=True, gc=False):
    method: str
    params: _ClientParams | None = None
    req_id: int | None = None


_CLIENT_REQUEST = msgspec.json.Decoder(_ClientRequest)


def _failure(error: str, **fields: str) -> dict[str, Any]:
    """The fields of a refused request (Kraken's shape: ``error``, ``success`` false, …)."""
    return {"error": error, "success": False, **fields}


def _asset_of_rest_pair(pair: str) -> str | None:
    """``XBTUSD`` or ``XXBTZUSD`` → ``BTC``; ``None`` for other quotes."""
    pair = pair.upper()
    if len(pair) == 8 and pair.startswith("X") and pair.endswith(f"Z{_USD}"):
        pair = pair[1:4] + _USD
    if not pair.endswith(_USD) or len(pair) == len(_USD):
        return None
    base = pair[: -len(_USD)]
    return _ASSETS_OF_REST_BASE.get(base, base)


class KrakenReplay(ReplayProtocol):
    heartbeat_seconds = 1.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def greeting(self) -> list[str]:
        return [_STATUS_FRAME]

    def heartbeat(self) -> str:
        return _HEARTBEAT_FRAME

    def handle(self, text: str) -> ReplayReply:
        """Acks, refusals and pongs; like every recorded Kraken reply, their keys are sorted."""
        try:
            request = _CLIENT_REQUEST.decode(text)
        except wire.DECODE_ERRORS:
            return ReplayReply(replies=[self._reply(_failure(_INVALID_ARGUMENTS), None)])
        if request.method == "ping":
            return ReplayReply(replies=[self._reply({"method": "pong"}, request.req_id)])
        params = request.params
        if request.method not in {"subscribe", "unsubscribe"} or params is None:
            refusal = _failure(_INVALID_ARGUMENTS, method=request.method)
            return ReplayReply(replies=[self._reply(refusal, request.req_id)])
        if params.channel != _TRADE_CHANNEL:
            error = f"Channel not served by the replay: {params.channel}"
            refusal = _failure(error, method=request.method)
            return ReplayReply(replies=[self._reply(refusal, request.req_id)])
        replies, assets = [], []
        for symbol in dict.fromkeys(params.symbol):
            asset = _asset_of(symbol)
            if asset is None:
                replies.append(self._refusal(request, symbol))
            else:
                replies.append(self._ack(request, params, symbol))
                assets.append(asset)
        if request.method == "unsubscribe":
            return ReplayReply(replies=replies, unsubscribe=assets)
        return ReplayReply(replies=replies, subscribe=assets)

    def _ack(self, request: _ClientRequest, params: _ClientParams, symbol: str) -> str:
        ack: dict[str, Any] = msgspec.json.decode(_ACK_TEMPLATE)
        values = {"channel": params.channel, "snapshot": params.snapshot, "symbol": symbol}
        if request.method == "unsubscribe":
            del values["snapshot"]
        ack["method"] = request.method
        ack["result"] = {key: values[key] for key in ack["result"] if key in values}
        del ack["time_in"], ack["time_out"]
        return self._reply(ack, request.req_id)

    def _refusal(self, request: _ClientRequest, symbol: str) -> str:
        error = f"Currency pair not supported {symbol}"
        return self._reply(_failure(error, method=request.method, symbol=symbol), request.req_id)

    def _reply(self, fields: dict[str, Any], req_id: int | None) -> str:
        now = f"{datetime.fromtimestamp(self._clock(), UTC):%Y-%m-%dT%H:%M:%S.%f}Z"
        reply = fields | {"time_in": now, "time_out": now}
        if req_id is not None:
            reply["req_id"] = req_id
        return wire.encode_text(dict(sorted(reply.items())))

    def rest_ticker(self, path_qs: str, prices: dict[str, str]) -> tuple[int, str] | None:
        query = wire.request_query(path_qs, _TICKER_PATH)
        if query is None:
            return None
        requested = query.get("pair")
        pairs = ",".join(requested).split(",") if requested else [_rest_pair(a) for a in prices]
        result: dict[str, Any] = {}
        for pair in pairs:
            asset = _asset_of_rest_pair(pair)
            if asset is None or asset not in prices:
                return 200, _UNKNOWN_PAIR_BODY
            result[_internal_name(asset)] = _ticker_entry(prices[asset])
        return 200, wire.encode_text({"error": [], "result": result})


def _internal_name(asset: str) -> str:
    pair = _rest_pair(asset)
    base = pair[: -len(_USD)]
    return f"X{base}Z{_USD}" if base in _LEGACY_REST_BASES else pair


def _ticker_entry(price: str) -> dict[str, Any]:
    """The recorded ticker entry with every price field set to ``price`` (volumes kept)."""
    entry: dict[str, Any] = msgspec.json.decode(_TICKER_TEMPLATE)["result"]["XXBTZUSD"]
    for key in ("a", "b", "c"):
        entry[key][0] = price
    for key in ("p", "l", "h"):
        entry[key] = [price, price]
    entry["o"] = price
    return entry


ADAPTER = KrakenAdapter()
REPLAY = KrakenReplay()
