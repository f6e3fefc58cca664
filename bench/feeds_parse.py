"""Trade frames parsed per second, per exchange: our adapters vs cryptofeed 2.4.1, one process.

The frames are every recorded trade frame we ship for the venue: the bundled replay set
(``src/trinity_beast/replay/default/<exchange>.jsonl``) plus the recorded fixtures under
``tests/fixtures/exchanges/<exchange>/``; a frame counts as a trade frame when our adapter turns
it into at least one quote. Ours is ``adapter.parse(frame, ts)``; cryptofeed's is its
production path, ``await feed.message_handler(frame, conn, ts)`` with a trades callback (see
``_cryptofeed_side.py`` for how it is set up offline, and for the two venues whose current
protocol cryptofeed 2.4.1 does not speak). Rounds alternate ours / cryptofeed; each side's
figure is the median of its rounds. Goal (issue 2): ours >= 5x cryptofeed on every venue.

For scale, each round also times ``msgspec.json.decode(frame)`` alone (generic, into dicts): the
C decode any Python parser of these frames pays at least once; it bounds the ratio a parser
that also validates and builds quotes can reach on this machine.
"""

from __future__ import annotations

import asyncio
import cProfile
import importlib.util
import os
import pstats
import statistics
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from tools import Skip, log, pin_cpu, usable_cores

from trinity_beast.feeds.base import ExchangeAdapter, MalformedFrame
from trinity_beast.feeds.registry import adapters
from trinity_beast.replay.recording import DEFAULT_DIR

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "exchanges"
GOAL_RATIO = 5.0
ROUNDS = 5
ROUND_SECONDS = 0.05 if os.environ.get("BENCH_QUICK") else 0.2
"""Each side runs ROUNDS rounds of at least ROUND_SECONDS: about 1 s per side and venue."""
RECEIVED_TS = 1_790_000_000.0
TIME_BUDGET_SECONDS = 180


def trade_frames(adapter: ExchangeAdapter) -> tuple[list[str], dict[str, int]]:
    """Every recorded frame of the venue our adapter turns into quotes, and their files."""
    recorded = sorted((FIXTURES / adapter.name).glob("*.jsonl"))
    paths = [DEFAULT_DIR / f"{adapter.name}.jsonl", *recorded]
    frames: list[str] = []
    per_file: dict[str, int] = {}
    for path in paths:
        before = len(frames)
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                if line.strip() and adapter.parse(line, RECEIVED_TS).quotes:
                    frames.append(line)
            except MalformedFrame:
                continue
        if len(frames) > before:
            per_file[str(path.relative_to(ROOT))] = len(frames) - before
    return frames, per_file


def _rate(run_pass: Callable[[], object], count: int) -> float:
    passes, started = 0, time.perf_counter()
    while True:
        run_pass()
        passes += 1
        elapsed = time.perf_counter() - started
        if elapsed >= ROUND_SECONDS:
            return passes * count / elapsed


async def _async_rate(run_pass: Callable[[], Any], count: int) -> float:
    passes, started = 0, time.perf_counter()
    while True:
        await run_pass()
        passes += 1
        elapsed = time.perf_counter() - started
        if elapsed >= ROUND_SECONDS:
            return passes * count / elapsed


def _our_pass(adapter: ExchangeAdapter, frames: list[str]) -> Callable[[], None]:
    parse = adapter.parse

    def run() -> None:
        for frame in frames:
            parse(frame, RECEIVED_TS)

    return run


def _decode_only_pass(frames: list[str]) -> Callable[[], None]:
    decode = msgspec.json.decode

    def run() -> None:
        for frame in frames:
            decode(frame)

    return run


def _quotes_found(adapter: ExchangeAdapter, frames: list[str],
                  theirs: list[tuple[str, Decimal]]) -> int:
    """How many of our quotes are also among cryptofeed's trades (by exact decimal price; asset
    names differ by design, e.g. Kraken ``PHA`` is our ``PHALA``)."""
    pool = Counter(price for _symbol, price in theirs)
    found = 0
    for frame in frames:
        for quote in adapter.parse(frame, RECEIVED_TS).quotes:
            price = Decimal(quote.price)
            if pool[price] > 0:
                pool[price] -= 1
                found += 1
    return found


def hotspots(adapter: ExchangeAdapter, frames: list[str], top: int = 8) -> list[dict[str, Any]]:
    """Where our parse spends its time (cProfile, by own time), per frame."""
    run = _our_pass(adapter, frames)
    profiler = cProfile.Profile()
    passes = 0
    profiler.enable()
    started = time.perf_counter()
    while time.perf_counter() - started < 0.3:
        run()
        passes += 1
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values()) or 1.0
    ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    calls_per = passes * len(frames)
    return [
        {"function": f"{Path(file).name}:{line}({func})", "own_time_share": round(tt / total, 3),
         "calls_per_frame": round(ncalls / calls_per, 2)}
        for (file, line, func), (_cc, ncalls, tt, _ct, _callers) in ranked
    ]


async def _rounds(adapter: ExchangeAdapter, frames: list[str], driver: Any,
                  theirs: list[str]) -> dict[str, list[float]]:
    """ROUNDS rounds of ours, cryptofeed, decode-only, alternating; frames/s of each round."""
    handler, conn = driver.handler, driver.conn

    async def their_pass() -> None:
        for frame in theirs:
            await handler(frame, conn, RECEIVED_TS)

    ours_run, decode_run = _our_pass(adapter, frames), _decode_only_pass(frames)
    rates: dict[str, list[float]] = {"ours": [], "cryptofeed": [], "decode_only": []}
    for _ in range(ROUNDS):
        rates["ours"].append(_rate(ours_run, len(frames)))
        rates["cryptofeed"].append(await _async_rate(their_pass, len(frames)))
        rates["decode_only"].append(_rate(decode_run, len(frames)))
    return rates


async def bench_exchange(adapter: ExchangeAdapter) -> dict[str, Any]:
    import _cryptofeed_side as cf  # cryptofeed is in the bench environment only: see main()

    frames, per_file = trade_frames(adapter)
    theirs = cf.cryptofeed_frames(adapter.name, frames)
    driver = cf.build_feed(adapter.name, theirs)
    driver.keep_trades = True
    for frame in theirs:
        await driver.handler(frame, driver.conn, RECEIVED_TS)
    driver.keep_trades = False
    rates = await _rounds(adapter, frames, driver, theirs)
    ours, their, decode = (statistics.median(rates[side])
                           for side in ("ours", "cryptofeed", "decode_only"))
    result: dict[str, Any] = {
        "frames": len(frames), "files": per_file,
        "quotes_per_pass": sum(len(adapter.parse(f, RECEIVED_TS).quotes) for f in frames),
        "cryptofeed_trades_per_pass": len(driver.trades),
        "quotes_found_in_cryptofeed_trades": _quotes_found(adapter, frames, driver.trades),
        "ours_frames_per_s": round(ours), "cryptofeed_frames_per_s": round(their),
        "ratio": round(ours / their, 2), "goal_met": ours / their >= GOAL_RATIO,
        "ours_us_per_frame": round(1e6 / ours, 2), "cryptofeed_us_per_frame": round(1e6 / their, 2),
        "decode_only_frames_per_s": round(decode), "decode_only_ratio": round(decode / their, 2),
        "rounds_frames_per_s": {k: [round(r) for r in v] for k, v in rates.items()},
        "cryptofeed_input": "our frames" if cf.SIDES[adapter.name].translate is None
        else "same trades re-encoded in the protocol cryptofeed 2.4.1 speaks",
        "cryptofeed_on_our_frames": await cf.native_outcome(adapter.name, frames),
    }
    if not result["goal_met"]:
        result["hotspots"] = hotspots(adapter, frames)
    return result


async def _run() -> dict[str, Any]:
    venues: dict[str, Any] = {}
    for name, adapter in adapters().items():
        log(f"feeds_parse: {name}")
        venues[name] = await bench_exchange(adapter)
    return {
        "goal_ratio": GOAL_RATIO, "rounds": ROUNDS, "round_seconds": ROUND_SECONDS,
        "cryptofeed_version": _version("cryptofeed"), "exchanges": venues,
        "all_goals_met": all(v["goal_met"] for v in venues.values()),
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> dict[str, Any]:
    if importlib.util.find_spec("cryptofeed") is None:
        raise Skip("cryptofeed is not installed: it lives in the bench environment only "
                   "(make bench, or pip install -r requirements-bench.lock)")
    core = usable_cores()[-1]
    pinned = pin_cpu(0, core)
    result = asyncio.run(_run())
    result["pinned_core"] = core if pinned else None
    return result


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"Frames parsed per second (median of {result['rounds']} rounds, cryptofeed "
        f"{result['cryptofeed_version']}); goal: ours ≥ {result['goal_ratio']:g}× cryptofeed. "
        "Decode-only: msgspec.json.decode of the frame alone, for scale.",
        "",
        "| exchange | frames | ours frames/s | cryptofeed frames/s | ratio | goal met | "
        "decode-only frames/s (ratio) | cryptofeed input |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for name, venue in result["exchanges"].items():
        lines.append(
            f"| {name} | {venue['frames']} | {venue['ours_frames_per_s']:,} | "
            f"{venue['cryptofeed_frames_per_s']:,} | {venue['ratio']:.2f}× | "
            f"{'yes' if venue['goal_met'] else '**no**'} | "
            f"{venue['decode_only_frames_per_s']:,} ({venue['decode_only_ratio']:.1f}×) | "
            f"{venue['cryptofeed_input']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
