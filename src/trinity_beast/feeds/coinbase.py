"""Coinbase Advanced Trade: the ``market_trades`` channel of ``wss://advanced-trade-ws.coinbase.com``.

Protocol facts (``EXCHANGES.md`` §1): products are ``BTC-USD``; one channel per subscribe
message; trades arrive in ``events[].trades[]`` with string prices and RFC 3339 times; the
server never pings, so we also subscribe to the ``heartbeats`` channel (one frame a second)
because quiet channels are closed after 60-90 s. The REST fallback is the public
``/api/v3/brokerage/market/products/{product_id}`` whose ``price`` is the last trade.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

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

_USD_SUFFIX = "-USD"
_TRADE_CHANNEL = "market_trades"
_HEARTBEAT_CHANNEL = "heartbeats"
_OTHER_DATA_CHANNELS = frozenset({"ticker", "ticker_batch", "l2_data", "candles"})
"""Market-data channels we do not use: they prove the feed is alive but carry no trades."""
_PRODUCT_PATH = "/api/v3/brokerage/market/products/"


# Wire formats (only the keys we read; msgspec skips the others).
class _Trade(msgspec.Struct, frozen=True, gc=False):
    product_id: str
    price: str
    time: str


class _Event(msgspec.Struct, frozen=True, gc=False):
    trades: list[_Trade] = []


class _Envelope(msgspec.Struct, frozen=True, gc=False):
    channel: str = ""
    events: msgspec.Raw = msgspec.Raw()
    """Decoded only for ``market_trades``: other channels' events have other shapes."""


# The fast path's view of a frame (see ``wire``): the same keys decoded whole, times by msgspec.
class _FastTrade(msgspec.Struct, frozen=True, gc=False):
    product_id: str
    price: str
    time: wire.UtcTime


class _FastEvent(msgspec.Struct, frozen=True, gc=False):
    trades: list[_FastTrade] = []


class _FastFrame(msgspec.Struct, frozen=True, gc=False):
    events: list[_FastEvent]
    channel: str = ""


class _RestProduct(msgspec.Struct, frozen=True, gc=False):
    product_id: str = ""
    price: str | None = None


class _ClientRequest(msgspec.Struct, frozen=True, gc=False):
    type: str
    channel: str = ""
    product_ids: list[str] | None = None


_FAST_FRAME = msgspec.json.Decoder(_FastFrame)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_EVENTS = msgspec.json.Decoder(list[_Event])
_REST_PRODUCT = msgspec.json.Decoder(_RestProduct)
_CLIENT_REQUEST = msgspec.json.Decoder(_ClientRequest)


@wire.symbol_cache
def _asset_of(product_id: str) -> str | None:
    """``BTC-USD`` → ``BTC``; ``None`` for other quotes and products (``BTC-PERP-INTX``)."""
    if product_id.endswith(_USD_SUFFIX) and len(product_id) > len(_USD_SUFFIX):
        return product_id[: -len(_USD_SUFFIX)]
    return None


class CoinbaseAdapter(ExchangeAdapter):
    name = "coinbase"
    source = "coinbase-ws"
    rest_source = "coinbase-rest"
    ws_url = "wss://advanced-trade-ws.coinbase.com"
    rest_url = "https://api.coinbase.com"
    ws_path = "/coinbase"
    keepalive_seconds = None
    """No client keepalive: the ``heartbeats`` channel keeps the connection in use."""

    def symbol(self, asset: str) -> str:
        return f"{asset.upper()}{_USD_SUFFIX}"

    def subscribe_messages(self, assets: Sequence[str]) -> list[str]:
        products = self._products(assets)
        if not products:
            return []
        return [
            wire.encode_text(
                {"type": "subscribe", "product_ids": products, "channel": _TRADE_CHANNEL}
            ),
            wire.encode_text({"type": "subscribe", "channel": _HEARTBEAT_CHANNEL}),
        ]

    def unsubscribe_messages(self, assets: Sequence[str]) -> list[str]:
        products = self._products(assets)
        if not products:
            return []
        unsubscribe = {"type": "unsubscribe", "product_ids": products, "channel": _TRADE_CHANNEL}
        return [wire.encode_text(unsubscribe)]

    def _products(self, assets: Sequence[str]) -> list[str]:
        return list(dict.fromkeys(self.symbol(asset) for asset in assets))

    def parse(self, frame: str | bytes, received_ts: float) -> Parsed:
        try:
            message = _FAST_FRAME.decode(frame)
        except wire.DECODE_ERRORS:
            return self._parse_general(frame, received_ts)
        if message.channel != _TRADE_CHANNEL:
            return other_channel(message.channel, _OTHER_DATA_CHANNELS)
        events = message.events
        trades = events[0].trades if len(events) == 1 else [
            trade for event in events for trade in event.trades]
        return Parsed(tuple(wire.latest_quotes(trades, self._fast_trade_quote, received_ts)), True)

    def _parse_general(self, frame: str | bytes, received_ts: float) -> Parsed:
        """Any frame the fast decoder refuses: the envelope first, trades only when they are."""
        envelope = wire.decode_frame(_ENVELOPE, frame, "coinbase")
        if envelope.channel != _TRADE_CHANNEL:
            return other_channel(envelope.channel, _OTHER_DATA_CHANNELS)
        events = wire.decode_frame(_EVENTS, envelope.events, "coinbase")
        trades = [trade for event in events for trade in event.trades]
        return Parsed(tuple(wire.latest_quotes(trades, self._trade_quote, received_ts)), True)

    def _fast_trade_quote(self, trade: _FastTrade, received_ts: float) -> Quote | None:
        """:meth:`_trade_quote` of a trade whose time msgspec has already parsed."""
        price, value = wire.frame_price(trade.price, "coinbase trade", trade.product_id)
        return self._quote(trade.product_id, price, value, trade.time.timestamp(), received_ts)

    def _trade_quote(self, trade: _Trade, received_ts: float) -> Quote | None:
        """Validate one trade (every trade, so one bad trade spoils the frame); quote USD ones."""
        try:
            price, value = checked_price(trade.price)
            exchange_ts = parse_rfc3339(trade.time)
        except (ValueError, OverflowError) as exc:
            raise MalformedFrame(f"coinbase trade {trade.product_id}: {exc}") from exc
        return self._quote(trade.product_id, price, value, exchange_ts, received_ts)

    def _quote(self, product_id: str, price: str, value: float, exchange_ts: float,
               received_ts: float) -> Quote | None:
        """The quote of a valid trade; ``None`` unless the product is quoted in USD."""
        asset = _asset_of(product_id)
        if asset is None:
            return None
        return Quote(asset, price, value, exchange_ts, received_ts, self.source)

    def rest_ticker_path(self, asset: str) -> str:
        return f"{_PRODUCT_PATH}{self.symbol(asset)}"

    def parse_rest_ticker(self, body: bytes, asset: str, received_ts: float) -> Quote:
        product = wire.decode_frame(_REST_PRODUCT, body, "coinbase")
        if product.product_id != self.symbol(asset):
            raise MalformedFrame(f"coinbase REST answered {product.product_id!r} for {asset}")
        price, value = wire.frame_price(product.price, "coinbase REST", product.product_id)
        return Quote(asset.upper(), price, value, received_ts, received_ts, self.rest_source)


# --- The server side, for the replay exchange -------------------------------------------------
# Recorded frames (tests/fixtures/exchanges/coinbase/, see PROVENANCE.md there) used as templates.
_ACK_TEMPLATE = (
    '{"channel":"subscriptions","timestamp":"2026-09-05T22:10:29.563180868Z","sequence_num":3,'
    '"events":[{"subscriptions":{"heartbeats":["heartbeats"],"ticker":["BTC-PERP-INTX",'
    '"ETH-PERP-INTX"]}}]}'
)
_HEARTBEAT_TEMPLATE = (
    '{"channel":"heartbeats","timestamp":"2026-09-05T22:10:30.260465255Z","sequence_num":4,'
    '"events":[{"current_time":"2026-09-05 22:10:30.25788961 +0000 UTC m=+139651.272674714",'
    '"heartbeat_counter":139651}]}'
)
_ERROR_REPLY = '{"type":"error","message":"authentication failure"}'
"""Recorded verbatim; the venue sends it for an unknown channel, the replay for any refusal."""
_PRODUCT_TEMPLATE = (
    '{"product_id":"BTC-USD", "price":"83306.04", "price_percentage_change_24h":"0.45462975445749",'
    ' "volume_24h":"4626.0191046", "volume_percentage_change_24h":"-27.48666634621953",'
    ' "base_increment":"0.00000001", "quote_increment":"0.01", "quote_min_size":"1",'
    ' "quote_max_size":"150000000", "base_min_size":"0.00000001", "base_max_size":"3400",'
    ' "base_name":"Bitcoin", "quote_name":"US Dollar", "watched":false, "is_disabled":false,'
    ' "new":false, "status":"online", "cancel_only":false, "limit_only":false,'
    ' "post_only":false, "trading_disabled":false, "auction_mode":false, "product_type":"SPOT",'
    ' "quote_currency_id":"USD", "base_currency_id":"BTC", "fcm_trading_session_details":null,'
    ' "mid_market_price":"", "alias":"", "alias_to":["BTC-USDC"], "base_display_symbol":"BTC",'
    ' "quote_display_symbol":"USD", "view_only":false, "price_increment":"0.01",'
    ' "display_name":"BTC-USD", "product_venue":"CBE",'
    ' "approximate_quote_24h_volume":"385375332.57", "new_at":"2023-01-01T00:00:00Z",'
    ' "market_cap":"", "base_cbrn":"", "quote_cbrn":"", "product_cbrn":"", "icon_color":"",'
    ' "icon_url":"", "display_name_overwrite":"", "is_alpha_testing":false,'
    ' "about_description":"", "best_bid_price":"", "best_ask_price":"", "high_24h":"84557.01",'
    ' "low_24h":"82830.52", "hidden_from_discovery":false}'
)
_NOT_FOUND_BODY = (
    '{"error":"NOT_FOUND","error_details":"valid product_id is required",'
    '"message":"valid product_id is required"}'
)
_REPLAY_CHANNELS = frozenset({_TRADE_CHANNEL, _HEARTBEAT_CHANNEL})
_REQUEST_TYPES = frozenset({"subscribe", "unsubscribe"})


def _go_time_parts(ts: float) -> tuple[datetime, str]:
    """UTC time and Go's trimmed nanosecond fraction (``.66623968``, or nothing when zero)."""
    whole = math.floor(ts)
    seconds, nanos = divmod(round((ts - whole) * 1e9), 1_000_000_000)  # exact: no 1e18 float
    seconds += whole
    digits = f"{nanos:09d}".rstrip("0")
    return datetime.fromtimestamp(seconds, UTC), f".{digits}" if digits else ""


def _rfc3339_nano(ts: float) -> str:
    """Go's ``time.RFC3339Nano``, as in the envelope's ``timestamp``."""
    moment, fraction = _go_time_parts(ts)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}Z"


class CoinbaseReplay(ReplayProtocol):
    heartbeat_seconds = 1.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def handle(self, text: str) -> ReplayReply:
        """Acks list what this request names: the replay keeps no per-connection state, whereas
        the venue lists the whole current subscription set."""
        try:
            request = _CLIENT_REQUEST.decode(text)
        except wire.DECODE_ERRORS:
            return ReplayReply(replies=[_ERROR_REPLY])
        if request.type not in _REQUEST_TYPES or request.channel not in _REPLAY_CHANNELS:
            return ReplayReply(replies=[_ERROR_REPLY])
        products = [p for p in dict.fromkeys(request.product_ids or ()) if _asset_of(p)]
        assets = [p[: -len(_USD_SUFFIX)] for p in products]
        if request.type == "unsubscribe":
            return ReplayReply(replies=[self._ack({})], unsubscribe=assets)
        if request.channel == _HEARTBEAT_CHANNEL:
            return ReplayReply(replies=[self._ack({_HEARTBEAT_CHANNEL: [_HEARTBEAT_CHANNEL]})])
        return ReplayReply(replies=[self._ack({_TRADE_CHANNEL: products})], subscribe=assets)

    def _ack(self, subscriptions: dict[str, list[str]]) -> str:
        ack = msgspec.json.decode(_ACK_TEMPLATE)
        ack["timestamp"] = _rfc3339_nano(self._clock())
        ack["events"][0]["subscriptions"] = subscriptions
        return wire.encode_text(ack)

    def heartbeat(self) -> str:
        now = self._clock()
        frame = msgspec.json.decode(_HEARTBEAT_TEMPLATE)
        moment, fraction = _go_time_parts(now)
        monotonic = frame["events"][0]["current_time"].partition(" m=")[2]
        frame["timestamp"] = _rfc3339_nano(now)
        frame["events"][0]["current_time"] = (
            f"{moment:%Y-%m-%d %H:%M:%S}{fraction} +0000 UTC m={monotonic}"
        )
        return wire.encode_text(frame)

    def rest_ticker(self, path_qs: str, prices: dict[str, str]) -> tuple[int, str] | None:
        product_id = wire.path_after(path_qs, _PRODUCT_PATH)
        if product_id is None:
            return None
        asset = _asset_of(product_id)
        if asset is None or asset not in prices:
            return 404, _NOT_FOUND_BODY
        body = msgspec.json.decode(_PRODUCT_TEMPLATE)
        price = prices[asset]
        body.update(
            product_id=product_id, price=price, base_name=asset, base_currency_id=asset,
            alias_to=[f"{asset}-USDC"], base_display_symbol=asset, display_name=product_id,
            high_24h=price, low_24h=price,
        )
        # Coinbase separates members with ", " (kept byte-identical in the recording).
        return 200, json.dumps(body, separators=(", ", ":"))


ADAPTER = CoinbaseAdapter()
REPLAY = CoinbaseReplay()
