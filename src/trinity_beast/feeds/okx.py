"""OKX v5 public: USDT spot trades from the ``trades`` channel, plus the REST ticker fallback.

Wire facts (EXCHANGES.md §6, docs/feeds/okx.md): spot instruments are ``BTC-USDT`` (futures,
swaps and options add more ``-`` parts); subscribe args are objects and the args of one request
may total at most 64 KB; every arg is acked on its own; a trade frame's ``data`` may batch
several trades, ``ts`` being a string of epoch milliseconds. Keepalive is the *text* frame
``ping`` (answered by text ``pong``): OKX drops a connection that is silent for 30 s. The notice
``64008`` announces that the server will close the connection for an upgrade.
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
    RECONNECT,
    ExchangeAdapter,
    MalformedFrame,
    Parsed,
    ReplayProtocol,
    ReplayReply,
)
from trinity_beast.prices.quote import Quote

TRADES_CHANNEL = "trades"
QUOTE_CURRENCY = "USDT"
TICKER_PATH = "/api/v5/market/ticker"
MAX_ARGS_BYTES = 64 * 1024
SERVICE_UPGRADE_NOTICE = "64008"

_MAX_MILLIS = 10**15  # year 33658: anything later is garbage, and stays a finite float
_PONGS = frozenset({"pong", b"pong"})


class _Arg(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """A subscription ``arg`` (``{"channel","instId"}``); other channels may use other keys."""

    channel: str = ""
    inst_id: str = ""


class _Envelope(msgspec.Struct, frozen=True, gc=False):
    """Every JSON server frame: pushes have ``arg`` + ``data``, the rest an ``event``."""

    event: str = ""
    code: str = ""
    arg: _Arg | None = None
    data: msgspec.Raw = msgspec.Raw()


class _Trade(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """One entry of a ``trades`` push (``tradeId``, ``sz``, ``side``, ``count``… unused)."""

    inst_id: str
    px: str
    ts: str


class _TradePush(msgspec.Struct, frozen=True, gc=False):
    """The fast path's view of a push (see ``wire``): envelope and trades decoded at once."""

    arg: _Arg
    data: list[_Trade]
    event: str = ""
    code: str = ""


class _TickerRow(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    inst_id: str
    last: str
    ts: str = ""


class _TickerAnswer(msgspec.Struct, frozen=True, gc=False):
    """``GET /api/v5/market/ticker``: ``{"code":"0","data":[...],"msg":""}``."""

    code: str
    msg: str = ""
    data: list[_TickerRow] = []


class _Request(msgspec.Struct, frozen=True, gc=False):
    """A client request as the replay exchange reads it."""

    op: str
    args: list[_Arg] = []
    id: str | None = None


_TRADE_PUSH = msgspec.json.Decoder(_TradePush)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_TRADES = msgspec.json.Decoder(list[_Trade])
_TICKER_ANSWER = msgspec.json.Decoder(_TickerAnswer)
_REQUEST = msgspec.json.Decoder(_Request)
_ENCODER = msgspec.json.Encoder()


@wire.symbol_cache
def asset_of(inst_id: str) -> str | None:
    """The asset of a USDT spot instrument (``BTC-USDT`` → ``BTC``); ``None`` for all others."""
    base, dash, quote = inst_id.partition("-")
    if dash and base and quote == QUOTE_CURRENCY:
        return base
    return None


def _event(event: str, code: str) -> Parsed:
    """An ``event`` frame (ack, error, notice): control, or reconnect for the upgrade notice."""
    if event == "notice" and code == SERVICE_UPGRADE_NOTICE:
        return RECONNECT
    return CONTROL


def _millis(text: str) -> int:
    """OKX times are strings of epoch milliseconds."""
    try:
        millis = int(text)
    except ValueError as exc:
        raise MalformedFrame(f"okx time {text!r} is not epoch milliseconds") from exc
    if not 0 < millis < _MAX_MILLIS:
        raise MalformedFrame(f"okx time {text!r} is out of range")
    return millis


class OkxAdapter(ExchangeAdapter):
    """OKX v5 public spot trades."""

    name = "okx"
    source = "okx-ws"
    rest_source = "okx-rest"
    ws_url = "wss://ws.okx.com:8443/ws/v5/public"
    rest_url = "https://www.okx.com"
    ws_path = "/okx/ws/v5/public"
    keepalive_seconds = 20.0

    def symbol(self, asset: str) -> str:
        return f"{asset.upper()}-{QUOTE_CURRENCY}"

    def subscribe_messages(self, assets: Sequence[str]) -> list[str]:
        return self._requests("subscribe", assets)

    def unsubscribe_messages(self, assets: Sequence[str]) -> list[str]:
        return self._requests("unsubscribe", assets)

    def _requests(self, op: str, assets: Sequence[str]) -> list[str]:
        """As few requests as the 64 KB limit on one request's args allows."""
        budget = MAX_ARGS_BYTES - len('{"op":"unsubscribe","args":[]}')
        requests: list[list[dict[str, str]]] = []
        size = 0
        for asset in assets:
            arg = {"channel": TRADES_CHANNEL, "instId": self.symbol(asset)}
            arg_size = len(_ENCODER.encode(arg)) + 1
            if not requests or size + arg_size > budget:
                requests.append([])
                size = 0
            requests[-1].append(arg)
            size += arg_size
        return [wire.encode_text({"op": op, "args": args}) for args in requests]

    def keepalive_message(self) -> str:
        return "ping"

    def parse(self, frame: str | bytes, received_ts: float) -> Parsed:
        if len(frame) == len("pong") and frame in _PONGS:
            return CONTROL
        try:
            push = _TRADE_PUSH.decode(frame)
        except wire.DECODE_ERRORS:
            return self._parse_general(frame, received_ts)
        if push.event:
            return _event(push.event, push.code)
        if push.arg.channel != TRADES_CHANNEL:
            return DATA_WITHOUT_QUOTES
        return self._trade_quotes(push.data, received_ts)

    def _parse_general(self, frame: str | bytes, received_ts: float) -> Parsed:
        """Any frame the fast decoder refuses: the envelope first, trades only when they are."""
        envelope = wire.decode_frame(_ENVELOPE, frame, "okx frame")
        if envelope.event:
            return _event(envelope.event, envelope.code)
        if envelope.arg is None or not envelope.data:
            return CONTROL
        if envelope.arg.channel != TRADES_CHANNEL:
            return DATA_WITHOUT_QUOTES
        trades = wire.decode_frame(_TRADES, envelope.data, "okx trades")
        return self._trade_quotes(trades, received_ts)

    def _trade_quotes(self, trades: list[_Trade], received_ts: float) -> Parsed:
        return Parsed(wire.latest_quotes(trades, self._trade_quote, received_ts), True)

    def _trade_quote(self, trade: _Trade, received_ts: float) -> Quote | None:
        """The quote of a USDT spot trade; ``None`` for futures, swaps, options, other quotes."""
        asset = asset_of(trade.inst_id)
        if asset is None:
            return None
        price, value = wire.frame_price(trade.px, "okx")
        return Quote(asset, price, value, _millis(trade.ts) / 1000, received_ts, self.source)

    def rest_ticker_path(self, asset: str) -> str:
        return f"{TICKER_PATH}?instId={self.symbol(asset)}"

    def parse_rest_ticker(self, body: bytes, asset: str, received_ts: float) -> Quote:
        answer = wire.decode_frame(_TICKER_ANSWER, body, "okx ticker")
        if answer.code != "0":
            raise MalformedFrame(f"okx ticker error {answer.code}: {answer.msg}")
        inst_id = self.symbol(asset)
        if not answer.data or answer.data[0].inst_id != inst_id:
            raise MalformedFrame(f"okx ticker answer does not hold {inst_id}")
        row = answer.data[0]
        price, value = wire.frame_price(row.last, "okx")
        exchange_ts = _millis(row.ts) / 1000 if row.ts else received_ts
        return Quote(asset.upper(), price, value, exchange_ts, received_ts, self.rest_source)


# The replay exchange's side. Templates: the recorded per-arg ack with connId
# (unattributed_ws_control_2025-2026.jsonl), its 60018 error, the documented 60012 "Illegal
# request" and 60019 "Invalid op" errors, the text pong, and the recorded REST ticker with the
# 51001 refusal OKX answers (HTTP 200) for an unknown instrument.
_CONN_ID = "320a0cf9"
_NO_SUCH_CHANNEL = (
    "Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please use the correct URL, "
    "channel and parameters referring to API document."
)


class OkxReplay(ReplayProtocol):
    """Answers our adapter the way OKX does; ``clock`` stamps REST answers."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def handle(self, text: str) -> ReplayReply:
        if text == "ping":
            return ReplayReply(("pong",))
        try:
            request = _REQUEST.decode(text)
        except wire.DECODE_ERRORS:
            return ReplayReply((_error(None, "60012", f"Illegal request: {text}"),))
        if request.op not in ("subscribe", "unsubscribe"):
            return ReplayReply((_error(request.id, "60019", f"Invalid op: {request.op}"),))
        if not request.args:
            return ReplayReply((_error(request.id, "60012", f"Illegal request: {text}"),))
        replies: list[str] = []
        assets: list[str] = []
        for arg in request.args:
            asset = asset_of(arg.inst_id) if arg.channel == TRADES_CHANNEL else None
            if asset is None:
                message = _NO_SUCH_CHANNEL.format(channel=arg.channel, inst_id=arg.inst_id)
                replies.append(_error(request.id, "60018", message))
                continue
            assets.append(asset)
            replies.append(_ack(request, arg))
        if request.op == "subscribe":
            return ReplayReply(replies, subscribe=assets)
        return ReplayReply(replies, unsubscribe=assets)

    def rest_ticker(self, path_qs: str, prices: dict[str, str]) -> tuple[int, str] | None:
        query = wire.request_query(path_qs, TICKER_PATH)
        if query is None:
            return None
        inst_ids = query.get("instId", [""])
        asset = asset_of(inst_ids[0])
        if asset is None or asset not in prices:
            refusal = {"code": "51001", "data": [],
                       "msg": "Instrument ID, Instrument ID code, or Spread ID doesn't exist."}
            return 200, wire.encode_text(refusal)
        row = _ticker_row(asset, prices[asset], str(int(self._clock() * 1000)))
        return 200, wire.encode_text({"code": "0", "data": [row], "msg": ""})


def _ack(request: _Request, arg: _Arg) -> str:
    reply: dict[str, Any] = {} if request.id is None else {"id": request.id}
    reply.update(event=request.op, arg={"channel": arg.channel, "instId": arg.inst_id},
                 connId=_CONN_ID)
    return wire.encode_text(reply)


def _error(request_id: str | None, code: str, message: str) -> str:
    reply: dict[str, Any] = {} if request_id is None else {"id": request_id}
    reply.update(event="error", msg=message, code=code, connId=_CONN_ID)
    return wire.encode_text(reply)


def _ticker_row(asset: str, price: str, ts: str) -> dict[str, str]:
    """A ticker row in the recorded 2026 shape; only the prices are known, the rest is zero."""
    return {
        "instType": "SPOT", "instId": f"{asset}-{QUOTE_CURRENCY}", "last": price, "lastSz": "0",
        "askPx": price, "askSz": "0", "bidPx": price, "bidSz": "0", "open24h": price,
        "high24h": price, "low24h": price, "volCcy24h": "0", "vol24h": "0", "ts": ts,
        "sodUtc0": price, "sodUtc8": price,
    }


ADAPTER = OkxAdapter()
REPLAY = OkxReplay()
