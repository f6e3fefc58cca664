"""Recorded frames of one exchange, read from ``<exchange>.jsonl`` (one raw frame per line)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from trinity_beast.feeds.base import ExchangeAdapter, MalformedFrame

DEFAULT_DIR = Path(__file__).parent / "default"


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    text: str
    prices: tuple[tuple[str, str], ...]
    """(asset, price) pairs the frame carries; empty for control frames."""

    @property
    def assets(self) -> frozenset[str]:
        return frozenset(asset for asset, _ in self.prices)


def load_recording(path: Path, adapter: ExchangeAdapter) -> list[RecordedFrame]:
    """The data frames of a recording; control and unparseable lines are skipped (the replay
    exchange makes its own control frames)."""
    frames: list[RecordedFrame] = []
    now = time.time()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            parsed = adapter.parse(line, now)
        except MalformedFrame:
            continue
        if parsed.quotes:
            prices = tuple((q.asset, q.price) for q in parsed.quotes)
            frames.append(RecordedFrame(line, prices))
    return frames


def first_prices(frames: list[RecordedFrame]) -> dict[str, str]:
    """The first recorded price of every asset (what REST answers before anything streamed)."""
    prices: dict[str, str] = {}
    for frame in frames:
        for asset, price in frame.prices:
            prices.setdefault(asset, price)
    return prices
