"""Plumbing shared by the replay-set generators; each exchange script keeps its frame template.

Two ways of inventing trades are used, both deterministic (two runs write the same bytes):

- the *stepped walk* (Bybit, Gate.io, OKX): every prewarm asset once per round, the order rotated
  by five places a round, prices moved from the reference price by a fixed pattern of basis points;
- the *random walk* (Coinbase, Gemini, Kraken): a seeded RNG shuffles the assets of every round
  and drifts prices by up to ±0.4 %. The scripts draw from the RNG in a fixed order, so the
  helpers below draw exactly what the scripts drew before they were shared.

The prices are illustrative, not market data. Generators are run as scripts
(``.venv/bin/python scripts/replayset/okx.py``), which puts this folder on ``sys.path``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from trinity_beast.params.definitions import PREWARM_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "exchanges"
DEFAULT_SET = ROOT / "src" / "trinity_beast" / "replay" / "default"


def prewarm_assets(exchange: str) -> list[str]:
    """The exchange's default prewarm assets, upper-case, in the listed order."""
    return [asset.upper() for asset in PREWARM_DEFAULTS[exchange].split(",")]


def compact_json(value: Any) -> str:
    """JSON without spaces, as the recorded templates are written."""
    return json.dumps(value, separators=(",", ":"))


def read_template(
    path: Path,
    line: int = 0,
    decode: Callable[[str], Any] = json.loads,
    encode: Callable[[Any], str] = compact_json,
) -> Any:
    """The recorded frame on ``line`` (zero-based) of ``path``, decoded.

    Stops the script unless ``encode`` gives the recorded text back byte for byte: the frames
    written from the template must keep its keys, key order and formatting.
    """
    text = path.read_text(encoding="utf-8").splitlines()[line]
    template = decode(text)
    if encode(template) != text:
        raise SystemExit(f"re-encoding {path.name} line {line} would change its formatting")
    return template


def write_frames(exchange: str, lines: list[str]) -> None:
    """Write ``src/trinity_beast/replay/default/<exchange>.jsonl``, one frame a line."""
    output = DEFAULT_SET / f"{exchange}.jsonl"
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} frames to {output.relative_to(ROOT)}")


def plain(number: Decimal) -> str:
    """Decimal text without exponent or trailing zeros (``0.05710`` → ``0.0571``)."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- The stepped walk (Bybit, Gate.io, OKX) ----------------------------------------------------
ROUNDS = 8
START_MS = 1_790_000_000_000  # 2026-09-21T14:13:20Z
STEP_MS = 250
STEPS_BPS = (0, 14, -9, 23, -17, 6, -4, 11, -21, 8, 3)  # price moves, basis points
NOTIONALS_USDT = (35, 120, 18, 640, 75, 260, 42, 1500, 95)
SIGNIFICANT_DIGITS = 5


class SteppedTrade(NamedTuple):
    """One invented trade; ``serial`` counts frames from 0 and numbers their ids and times."""

    serial: int
    asset: str
    price: str
    size: str


def price_text(reference: str, bps: int) -> str:
    """``reference`` moved by ``bps`` basis points, to :data:`SIGNIFICANT_DIGITS` digits."""
    value = Decimal(reference) * (10_000 + bps) / 10_000
    exponent = min(value.adjusted() - (SIGNIFICANT_DIGITS - 1), 0)
    return plain(value.quantize(Decimal(1).scaleb(exponent)))


def size_text(notional: int, price: str) -> str:
    """The size of a trade worth ``notional`` USDT at ``price``."""
    amount = Decimal(notional) / Decimal(price)
    return plain(amount.quantize(Decimal("0.0001") if amount < 1000 else Decimal(1)))


def trade_millis(index: int) -> int:
    """The trade time of frame ``index``: every 250 ms, plus a little jitter."""
    return START_MS + index * STEP_MS + (index * 37) % 90


def stepped_trades(
    exchange: str, venue: str, reference_prices: Mapping[str, str]
) -> Iterator[SteppedTrade]:
    """:data:`ROUNDS` rounds of one trade per prewarm asset of ``exchange``, interleaved.

    ``reference_prices`` must name exactly those assets (``venue`` names the exchange in the
    complaint when it does not).
    """
    assets = prewarm_assets(exchange)
    if set(assets) != set(reference_prices):
        raise SystemExit(f"REFERENCE_PRICES must list exactly the {venue} prewarm assets")
    index = 0
    for round_number in range(ROUNDS):
        shift = round_number * 5 % len(assets)
        for position, asset in enumerate(assets[shift:] + assets[:shift]):
            bps = STEPS_BPS[(round_number + position) % len(STEPS_BPS)]
            price = price_text(reference_prices[asset], bps)
            size = size_text(NOTIONALS_USDT[index % len(NOTIONALS_USDT)], price)
            yield SteppedTrade(index, asset, price, size)
            index += 1


# --- The random walk (Coinbase, Gemini, Kraken) ------------------------------------------------
FRAMES_PER_ASSET = 8
START = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
SEED = 20261001


def seeded_rng() -> random.Random:
    return random.Random(SEED)  # noqa: S311 (reproducible sample data, not secrets)


def shuffled_rounds(rng: random.Random, assets: list[str]) -> Iterator[str]:
    """:data:`FRAMES_PER_ASSET` rounds of every asset, each round in a new random order."""
    for _round in range(FRAMES_PER_ASSET):
        yield from rng.sample(assets, len(assets))


def price_decimals(reference: Decimal, significant: int, least: int, most: int) -> int:
    """Decimals for about ``significant`` digits of ``reference``, from ``least`` to ``most``."""
    return min(most, max(least, significant - (reference.adjusted() + 1)))


def drifted_price(rng: random.Random, reference: Decimal, decimals: int) -> Decimal:
    """``reference`` moved by up to ±0.4 %, to ``decimals`` decimals (one RNG draw)."""
    drift = Decimal(str(round(rng.uniform(-0.004, 0.004), 6)))
    return (reference * (1 + drift)).quantize(Decimal(1).scaleb(-decimals))


def random_amount(rng: random.Random, reference: Decimal, quantum: Decimal) -> Decimal:
    """The amount of a trade worth 20 to 5000 USD at ``reference`` (one RNG draw)."""
    notional = Decimal(f"{rng.uniform(20, 5000):.2f}")
    return (notional / reference).quantize(quantum)
