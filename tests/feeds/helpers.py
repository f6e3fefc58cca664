"""Plumbing shared by the exchange adapter tests; what each exchange must do stays in its file.

Loading recorded frames and the default replay set, the provenance (sha256) check of the fixture
copies, one-field edits of recorded JSON, truncated and corrupted variants of a frame, and the
replay round trips (replies that must be control frames, REST answers that must exist).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from trinity_beast.feeds import registry
from trinity_beast.feeds.base import (
    CONTROL,
    ExchangeAdapter,
    MalformedFrame,
    Parsed,
    ReplayProtocol,
)
from trinity_beast.params.definitions import PREWARM_DEFAULTS
from trinity_beast.prices.quote import Quote

RECEIVED = 1_800_000_000.25
"""The receive time every adapter test passes to ``parse``."""
DATA_WITHOUT_QUOTES = Parsed((), True)
DELETE = object()
"""In :func:`edited_json` changes: remove the field."""

RANDOM_EDIT_CHARACTERS = '{}[]",:0a\\\x00é'
GRID_EDIT_CHARACTERS = '"{}[],:0-x\\'


def prewarm_assets(exchange: str) -> list[str]:
    """The exchange's default prewarm assets, upper-case, in the listed order."""
    return [asset.upper() for asset in PREWARM_DEFAULTS[exchange].split(",")]


def endpoints(adapter: ExchangeAdapter) -> tuple[str, str, str, str, str, str]:
    """``(name, source, rest_source, ws_url, rest_url, ws_path)`` of an adapter."""
    return (adapter.name, adapter.source, adapter.rest_source, adapter.ws_url, adapter.rest_url,
            adapter.ws_path)


def assert_registered(adapter: ExchangeAdapter, replay: ReplayProtocol) -> None:
    """The registry finds the module's ``ADAPTER`` and ``REPLAY`` under the adapter's name."""
    assert registry.adapters()[adapter.name] is adapter
    assert registry.replay_protocols()[adapter.name] is replay


def assert_fixtures_match_provenance(directory: Path) -> None:
    """Every fixture copy in ``directory`` is listed in its ``PROVENANCE.md`` (and nothing else
    is), and the first 16 hex digits of its sha256 are the listed ones."""
    table = (directory / "PROVENANCE.md").read_text(encoding="utf-8")
    row = rf"^\| `{re.escape(directory.name)}/([^`]+)` \|.* \| ([0-9a-f]{{16}}) \|$"
    rows = re.findall(row, table, re.MULTILINE)
    on_disk = {path.name for path in directory.iterdir() if path.name != "PROVENANCE.md"}
    assert {name for name, _ in rows} == on_disk
    for name, digest in rows:
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest()[:16] == digest, name


def quote_factory(source: str) -> Callable[[str, str, float], Quote]:
    """``make(asset, price, exchange_ts)``: the quote of a trade read at :data:`RECEIVED`."""

    def make(asset: str, price: str, exchange_ts: float) -> Quote:
        return Quote(asset, price, float(price), exchange_ts, RECEIVED, source)

    return make


def edited_json(
    frame: str, changes: Mapping[str, Any], *path: str | int, delete: object = DELETE
) -> str:
    """A recorded JSON frame with fields of the object at ``path`` replaced, compact again.

    A change whose value is ``delete`` removes that field (tests that never send ``None``
    pass ``delete=None``).
    """
    message = json.loads(frame)
    target = message
    for key in path:
        target = target[key]
    for key, value in changes.items():
        if value is delete:
            del target[key]
        else:
            target[key] = value
    return json.dumps(message, separators=(",", ":"))


def random_variants(frame: str, rng: random.Random, edits: int = 30) -> list[str]:
    """Every proper prefix of ``frame``, then ``edits`` copies with one character replaced at a
    random place (``rng`` is shared across frames, so the order of calls matters)."""
    variants = [frame[:cut] for cut in range(len(frame))]
    for _ in range(edits):
        chars = list(frame)
        chars[rng.randrange(len(chars))] = rng.choice(RANDOM_EDIT_CHARACTERS)
        variants.append("".join(chars))
    return variants


def grid_variants(frame: str, step: int = 3) -> list[str]:
    """Every proper prefix of ``frame``, then copies with every ``step``-th character replaced by
    each of :data:`GRID_EDIT_CHARACTERS`."""
    variants = [frame[:cut] for cut in range(len(frame))]
    variants += [frame[:i] + ch + frame[i + 1:] for i in range(0, len(frame), step)
                 for ch in GRID_EDIT_CHARACTERS]
    return variants


def assert_parse_raises_only_malformed(adapter: ExchangeAdapter, variants: Iterable[str]) -> None:
    """``parse`` answers every variant or raises :class:`MalformedFrame`, never anything else."""
    for variant in variants:
        with contextlib.suppress(MalformedFrame):
            adapter.parse(variant, RECEIVED)


def assert_control(adapter: ExchangeAdapter, frames: Iterable[str | bytes]) -> None:
    """Each frame (typically a replay reply) parses as a control frame."""
    for frame in frames:
        assert adapter.parse(frame, RECEIVED) == CONTROL, frame


def rest_answer(replay: ReplayProtocol, path_qs: str, prices: dict[str, str]) -> tuple[int, str]:
    """The replay's ``(status, body)`` for a REST path it serves."""
    answer = replay.rest_ticker(path_qs, prices)
    assert answer is not None, path_qs
    return answer


def json_shape(value: Any) -> Any:
    """The keys (in order) of a JSON value, recursively; leaves become their type name."""
    if isinstance(value, dict):
        return [(key, json_shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [json_shape(item) for item in value]
    return type(value).__name__


def default_replay_lines(exchange: str) -> list[str]:
    """The frames of the bundled replay set of ``exchange``, one per line."""
    path = resources.files("trinity_beast").joinpath("replay", "default", f"{exchange}.jsonl")
    return path.read_text(encoding="utf-8").splitlines()


def quote_counts(adapter: ExchangeAdapter, lines: Iterable[str], source: str) -> dict[str, int]:
    """How many lines quote each asset; every line must give exactly one quote from ``source``."""
    counts: dict[str, int] = {}
    for line in lines:
        (quote,) = adapter.parse(line, RECEIVED).quotes
        assert quote.source == source
        counts[quote.asset] = counts.get(quote.asset, 0) + 1
    return counts
