"""A local exchange that speaks each venue's protocol and streams recorded frames.

One aiohttp application serves, for every exchange with a recording in the directory:

* the WebSocket endpoint at the adapter's ``ws_path`` — greeting, acks and pongs from the
  adapter module's :class:`ReplayProtocol`, server heartbeats, and the recorded data frames of
  the assets the client subscribed, in file order, looping;
* REST tickers under ``/<exchange>/rest/…``, answered from the last price streamed;
* a control API under ``/_replay/`` for tests and operators: ``GET status``,
  ``POST silence?exchange=X`` (data stops, heartbeats go on), ``POST resume?exchange=X``,
  ``POST drop?exchange=X`` (close its connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

from trinity_beast.feeds.base import ExchangeAdapter, ReplayProtocol
from trinity_beast.feeds.registry import adapters, replay_protocols
from trinity_beast.replay.recording import RecordedFrame, first_prices, load_recording

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Venue:
    adapter: ExchangeAdapter
    protocol: ReplayProtocol
    frames: list[RecordedFrame]
    prices: dict[str, str]
    silenced: bool = False
    frames_sent: int = 0
    connections: set[web.WebSocketResponse] = field(default_factory=set)
    subscriptions: dict[int, set[str]] = field(default_factory=dict)

    def status(self) -> dict[str, object]:
        subscribed: set[str] = set()
        for assets in self.subscriptions.values():
            subscribed |= assets
        return {"connections": len(self.connections), "subscribed": sorted(subscribed),
                "frames_sent": self.frames_sent, "silenced": self.silenced,
                "recorded_frames": len(self.frames), "assets": sorted(self.prices)}


class ReplayExchange:
    def __init__(self, directory: Path, *, interval: float = 0.02, loop: bool = True) -> None:
        self.directory = directory
        self.interval = interval
        self.loop = loop
        self.venues: dict[str, Venue] = {}
        all_adapters = adapters()
        for name, protocol in replay_protocols().items():
            path = directory / f"{name}.jsonl"
            if path.exists():
                frames = load_recording(path, all_adapters[name])
                venue = Venue(all_adapters[name], protocol, frames, first_prices(frames))
                self.venues[name] = venue
        self._runner: web.AppRunner | None = None
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application()
        for name, venue in self.venues.items():
            app.router.add_get(venue.adapter.ws_path, self._ws_handler(name))
            app.router.add_get(f"/{name}/rest/{{tail:.*}}", self._rest_handler(name))
        app.router.add_get("/_replay/status", self._status)
        app.router.add_post("/_replay/{action}", self._control)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        for venue in self.venues.values():
            for ws in list(venue.connections):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def ws_urls(self, host: str = "127.0.0.1") -> dict[str, str]:
        return {n: f"ws://{host}:{self.port}{v.adapter.ws_path}" for n, v in self.venues.items()}

    def rest_urls(self, host: str = "127.0.0.1") -> dict[str, str]:
        return {name: f"http://{host}:{self.port}/{name}/rest" for name in self.venues}

    def _ws_handler(self, name: str) -> Handler:
        venue = self.venues[name]

        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(autoping=True, heartbeat=None)
            await ws.prepare(request)
            await _Session(self, venue, ws).run()
            return ws

        return handler

    def _rest_handler(self, name: str) -> Handler:
        venue = self.venues[name]

        async def handler(request: web.Request) -> web.Response:
            tail = request.match_info["tail"]
            path_qs = "/" + tail + (f"?{request.query_string}" if request.query_string else "")
            answer = venue.protocol.rest_ticker(path_qs, venue.prices)
            if answer is None:
                return web.json_response({"error": "not found"}, status=404)
            status, body = answer
            return web.Response(status=status, text=body, content_type="application/json")

        return handler

    async def _status(self, _request: web.Request) -> web.Response:
        return web.json_response({name: v.status() for name, v in self.venues.items()})

    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        names = [request.query["exchange"]] if "exchange" in request.query else list(self.venues)
        unknown = [n for n in names if n not in self.venues]
        if unknown or action not in {"silence", "resume", "drop"}:
            return web.json_response({"error": "unknown exchange or action"}, status=400)
        for name in names:
            venue = self.venues[name]
            if action == "drop":
                for ws in list(venue.connections):
                    await ws.close()
            else:
                venue.silenced = action == "silence"
        return web.json_response({n: self.venues[n].status() for n in names})


class _Session:
    """One client connection to one venue."""

    def __init__(self, exchange: ReplayExchange, venue: Venue, ws: web.WebSocketResponse) -> None:
        self.exchange = exchange
        self.venue = venue
        self.ws = ws
        self.subscribed: set[str] = set()
        self.wake = asyncio.Event()

    async def run(self) -> None:
        venue = self.venue
        venue.connections.add(self.ws)
        venue.subscriptions[id(self)] = self.subscribed
        tasks = [asyncio.ensure_future(self._stream())]
        if venue.protocol.heartbeat_seconds:
            tasks.append(asyncio.ensure_future(self._heartbeats(venue.protocol.heartbeat_seconds)))
        try:
            for text in venue.protocol.greeting():
                await self.ws.send_str(text)
            await self._receive()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task
            venue.connections.discard(self.ws)
            venue.subscriptions.pop(id(self), None)

    async def _receive(self) -> None:
        async for message in self.ws:
            if message.type != WSMsgType.TEXT:
                continue
            reply = self.venue.protocol.handle(message.data)
            self.subscribed.update(reply.subscribe)
            self.subscribed.difference_update(reply.unsubscribe)
            for text in reply.replies:
                await self.ws.send_str(text)
            if reply.subscribe:
                self.wake.set()

    async def _stream(self) -> None:
        """Send the subscribed assets' frames in file order; loop (unless told not to)."""
        while not self.ws.closed:
            sent_any = await self._one_pass()
            if sent_any and not self.exchange.loop:
                return
            if not sent_any:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), max(self.exchange.interval, 0.05) * 10)

    async def _one_pass(self) -> bool:
        venue, sent_any = self.venue, False
        for frame in venue.frames:
            if self.ws.closed:
                break
            if venue.silenced or not frame.assets <= self.subscribed:
                continue
            await self.ws.send_str(frame.text)
            venue.frames_sent += 1
            venue.prices.update(frame.prices)
            sent_any = True
            await asyncio.sleep(self.exchange.interval)
        return sent_any

    async def _heartbeats(self, every: float) -> None:
        while not self.ws.closed:
            await asyncio.sleep(every)
            text = self.venue.protocol.heartbeat()
            if text is not None and self.subscribed:
                await self.ws.send_str(text)
