"""Trade frame sent → quote visible in Tier 1 (the PriceBook), over loopback, and parse+update
in process. Goal (issue 2): p99 < 1 ms.

One process, one event loop (uvloop, as ``beast serve`` uses): the replay exchange
(``trinity_beast.replay.server.ReplayExchange``) streams a generated recording — the bundled
replay frames of all six venues used as templates, every frame given a unique price — to a
``FeedManager`` writing into a ``PriceBook``, through the real WebSocket client and the shared
connection loop. The server's send time of each frame is taken (``time.monotonic_ns``) just
before aiohttp's ``WebSocketResponse.send_str``; the visible time right after
``PriceBook.update`` returns (a wrapper). A quote is matched to its frame by its unique
(source, asset, price). The server shares the loop with the client, so its work is inside the
measured time: a remote exchange would not add it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from aiohttp import web
from tools import log

from trinity_beast.feeds.base import ExchangeAdapter
from trinity_beast.feeds.manager import FeedManager
from trinity_beast.feeds.registry import adapters
from trinity_beast.params.values import Parameters
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.quote import Quote
from trinity_beast.replay.recording import DEFAULT_DIR, load_recording
from trinity_beast.replay.server import ReplayExchange

QUICK = bool(os.environ.get("BENCH_QUICK"))
FRAMES_PER_EXCHANGE = 200 if QUICK else 1000
INTERVAL_SECONDS = 0.005
"""Pause after each frame, per venue: about 200 frames/s per venue, 1,200/s in all."""
GOAL_P99_US = 1000.0
TIME_BUDGET_SECONDS = 180
PRICE_KEYS = frozenset({"price", "p", "px"})
"""The price field of a trade in the six venues' frames (Coinbase, Kraken, Gate.io: ``price``;
Gemini, Bybit: ``p``; OKX: ``px``)."""

Key = tuple[str, str, str]
"""(source, asset, price): unique per generated frame."""


def _with_price(node: Any, price: str) -> Any:
    """A decoded frame with every trade price replaced (kept a JSON number where it was one)."""
    if isinstance(node, dict):
        return {key: (_price_value(value, price) if key in PRICE_KEYS
                      else _with_price(value, price)) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_price(item, price) for item in node]
    return node


def _price_value(old: Any, price: str) -> Any:
    return float(price) if isinstance(old, float | int) else price


def generate_recording(directory: Path, per_exchange: int) -> dict[str, list[str]]:
    """Write ``<venue>.jsonl`` files of ``per_exchange`` one-trade frames with unique prices."""
    generated: dict[str, list[str]] = {}
    serial = 0
    for name, adapter in adapters().items():
        templates = [frame.text for frame in load_recording(DEFAULT_DIR / f"{name}.jsonl", adapter)
                     if len(frame.prices) == 1]
        frames = []
        for index in range(per_exchange):
            serial += 1
            decoded = json.loads(templates[index % len(templates)])
            frames.append(json.dumps(_with_price(decoded, f"{serial}.5"), separators=(",", ":")))
        (directory / f"{name}.jsonl").write_text("\n".join(frames) + "\n", encoding="utf-8")
        generated[name] = frames
    return generated


class TimedBook:
    """The Tier 1 book, noting when each quote became visible (a wrapper: the book is compiled
    with mypyc, and an interpreted class cannot subclass it)."""

    __slots__ = ("all_seen", "book", "expected", "visible")

    def __init__(self, expected: int) -> None:
        self.book = PriceBook()
        self.visible: dict[Key, int] = {}
        self.expected = expected
        self.all_seen = asyncio.Event()

    def update(self, quote: Quote) -> None:
        self.book.update(quote)
        self.visible.setdefault((quote.source, quote.asset, quote.price), time.monotonic_ns())
        if len(self.visible) >= self.expected:
            self.all_seen.set()

    def drop(self, asset: str, source: str) -> None:
        self.book.drop(asset, source)


@contextmanager
def send_times() -> Iterator[dict[str, int]]:
    """Note the first time each text frame is handed to the replay server's WebSocket."""
    sent: dict[str, int] = {}
    original = web.WebSocketResponse.send_str

    async def timed_send_str(self: Any, data: str, compress: int | None = None) -> None:
        sent.setdefault(data, time.monotonic_ns())
        await original(self, data, compress)

    web.WebSocketResponse.send_str = timed_send_str  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        web.WebSocketResponse.send_str = original  # type: ignore[method-assign]


def frame_keys(adapter: ExchangeAdapter, frames: list[str]) -> dict[Key, str]:
    keys: dict[Key, str] = {}
    for frame in frames:
        for quote in adapter.parse(frame, time.time()).quotes:
            keys[(quote.source, quote.asset, quote.price)] = frame
    if len(keys) != len(frames):
        raise RuntimeError(f"{adapter.name}: generated frames are not one unique quote each")
    return keys


def percentiles(values_ns: list[int]) -> dict[str, float]:
    """Nearest-rank percentiles, in microseconds."""
    ordered = sorted(values_ns)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] / 1000

    return {"count": len(ordered), "mean_us": round(statistics.fmean(ordered) / 1000, 1),
            "p50_us": round(rank(50), 1), "p90_us": round(rank(90), 1),
            "p99_us": round(rank(99), 1), "p99_9_us": round(rank(99.9), 1),
            "max_us": round(ordered[-1] / 1000, 1)}


async def loopback_latency(directory: Path, generated: dict[str, list[str]]) -> dict[str, Any]:
    venues = adapters()
    keys = {name: frame_keys(venues[name], frames) for name, frames in generated.items()}
    expected = sum(len(k) for k in keys.values())
    exchange = ReplayExchange(directory, interval=INTERVAL_SECONDS)
    book = TimedBook(expected)
    with send_times() as sent:
        await exchange.start()
        feeds = FeedManager(venues, book, Parameters({"feed_connect_stagger_ms": "0"}),
                            urls=exchange.ws_urls())
        started = time.monotonic()
        try:
            feeds.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(book.all_seen.wait(),
                                       FRAMES_PER_EXCHANGE * INTERVAL_SECONDS * 4 + 30)
            elapsed = time.monotonic() - started
        finally:
            await feeds.stop()
            await exchange.stop()
    per_venue: dict[str, Any] = {}
    everything: list[int] = []
    for name, venue_keys in keys.items():
        latencies = [book.visible[key] - sent[text] for key, text in venue_keys.items()
                     if key in book.visible and text in sent]
        everything += latencies
        per_venue[name] = percentiles(latencies) if latencies else {"count": 0}
    overall = percentiles(everything)
    return {"frames_expected": expected, "frames_matched": len(everything),
            "seconds": round(elapsed, 2), "frames_per_s": round(len(everything) / elapsed),
            "interval_per_venue_s": INTERVAL_SECONDS, "overall": overall, "per_exchange": per_venue,
            "goal_p99_us": GOAL_P99_US, "goal_met": overall["p99_us"] < GOAL_P99_US}


def parse_update_in_process(generated: dict[str, list[str]], passes: int = 3) -> dict[str, Any]:
    """What the connection loop does per frame once it has the text: clock, parse, update."""
    venues = adapters()
    per_venue: dict[str, Any] = {}
    everything: list[int] = []
    for name, frames in generated.items():
        adapter, book, samples = venues[name], PriceBook(), []
        for _ in range(passes):
            for frame in frames:
                begun = time.perf_counter_ns()
                for quote in adapter.parse(frame, time.time()).quotes:
                    book.update(quote)
                samples.append(time.perf_counter_ns() - begun)
        everything += samples
        per_venue[name] = percentiles(samples)
    return {"passes": passes, "overall": percentiles(everything), "per_exchange": per_venue}


def _event_loop_runner() -> tuple[str, Any]:
    try:
        import uvloop
    except ImportError:
        return "asyncio", asyncio.run
    return f"uvloop {metadata.version('uvloop')}", uvloop.run


def main() -> dict[str, Any]:
    loop_name, run = _event_loop_runner()
    directory = Path(tempfile.mkdtemp(prefix="tier1-latency-"))
    try:
        generated = generate_recording(directory, FRAMES_PER_EXCHANGE)
        log(f"tier1_latency: {sum(map(len, generated.values()))} frames over loopback")
        loopback = run(loopback_latency(directory, generated))
        log("tier1_latency: parse+update in process")
        in_process = parse_update_in_process(generated)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {"event_loop": loop_name, "frames_per_exchange": FRAMES_PER_EXCHANGE,
            "loopback": loopback, "in_process": in_process}


def summary(result: dict[str, Any]) -> str:
    loop, proc = result["loopback"], result["in_process"]
    rows = ["| path | frames | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for label, stats in (("sent → visible in Tier 1 (loopback)", loop["overall"]),
                         ("parse + book update (in process)", proc["overall"])):
        rows.append(f"| {label} | {stats['count']} | {stats['p50_us']} | {stats['p90_us']} | "
                    f"{stats['p99_us']} | {stats['p99_9_us']} | {stats['max_us']} |")
    met = "yes" if loop["goal_met"] else "**no**"
    return "\n".join([
        f"{loop['frames_matched']}/{loop['frames_expected']} frames matched, six venues at once, "
        f"{loop['frames_per_s']} frames/s, {result['event_loop']}. Goal p99 < "
        f"{loop['goal_p99_us']:g} µs: {met}.", "", *rows])


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
