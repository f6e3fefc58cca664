"""Write ``src/trinity_beast/replay/default/kraken.jsonl``: synthetic Kraken v2 trade frames.

Every line is a ``trade`` update built from one recorded frame
(``tests/fixtures/exchanges/kraken/unattributed-id6404436662_2025-07-23_ws_trade_BTC-USDT.jsonl``,
the one whose key order is Kraken's own): same keys, order and formatting; prices and
quantities stay JSON numbers. Only symbol, side, price, quantity, order type, trade id and
time change; every fourth frame batches two trades of one asset, as Kraken does. Prices
wander a little around the illustrative reference prices below (not market data). The output
is deterministic: run ``.venv/bin/python scripts/replayset/kraken.py``.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from trinity_beast.feeds.kraken import ADAPTER
from trinity_beast.params.definitions import PREWARM_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/exchanges/kraken"
TEMPLATE = FIXTURES / "unattributed-id6404436662_2025-07-23_ws_trade_BTC-USDT.jsonl"
OUTPUT = ROOT / "src/trinity_beast/replay/default/kraken.jsonl"

REFERENCE_PRICES = {
    "NANO": "0.95", "SC": "0.0035", "LSK": "0.45", "KAVA": "0.38", "BICO": "0.11",
    "RARI": "0.9", "OCEAN": "0.28", "CFG": "0.3", "CQT": "0.004", "ALGO": "0.13",
    "FET": "0.65", "FLOW": "0.38", "MINA": "0.22", "GLMR": "0.07", "MOVR": "5.8",
    "KSM": "15", "ASTR": "0.025", "PHALA": "0.11", "NODL": "0.0012", "PARA": "0.005",
    "KILT": "0.012", "ACA": "0.035", "TEER": "0.15", "LIT": "0.4",
}
FRAMES_PER_ASSET = 8
START = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
SEED = 20261001
ENCODER = msgspec.json.Encoder(decimal_format="number")
"""Writes ``Decimal`` as a JSON number with exactly its digits (``0.13110``)."""


def price_decimals(reference: Decimal) -> int:
    """About five significant digits, as Kraken's pair precisions are (``0.13110``)."""
    return min(10, max(1, 5 - (reference.adjusted() + 1)))


def encode(frame: dict[str, Any]) -> str:
    return ENCODER.encode(frame).decode()


def trade(
    template: dict[str, Any], rng: random.Random, asset: str, moment: float
) -> dict[str, Any]:
    reference = Decimal(REFERENCE_PRICES[asset])
    drift = Decimal(str(round(rng.uniform(-0.004, 0.004), 6)))
    price = (reference * (1 + drift)).quantize(Decimal(1).scaleb(-price_decimals(reference)))
    entry: dict[str, Any] = copy.deepcopy(template)
    entry.update(
        symbol=ADAPTER.symbol(asset), side=rng.choice(("buy", "sell")), price=price,
        qty=(Decimal(f"{rng.uniform(20, 5000):.2f}") / reference).quantize(Decimal("1e-8")),
        ord_type=rng.choice(("limit", "market")),
        timestamp=f"{datetime.fromtimestamp(moment, UTC):%Y-%m-%dT%H:%M:%S.%f}Z",
    )
    return entry


def frames(template: dict[str, Any]) -> list[str]:
    rng = random.Random(SEED)  # noqa: S311 (reproducible sample data, not secrets)
    assets = [a.upper() for a in PREWARM_DEFAULTS["kraken"].split(",")]
    trade_ids = {asset: 9_622_656 + 104_729 * n for n, asset in enumerate(assets)}
    moment = START
    lines: list[str] = []
    for _round in range(FRAMES_PER_ASSET):
        for asset in rng.sample(assets, len(assets)):
            moment += rng.uniform(0.05, 0.6)
            batch = 2 if len(lines) % 4 == 3 else 1
            data = [trade(template["data"][0], rng, asset, moment) for _ in range(batch)]
            for entry in data:
                trade_ids[asset] += 1
                entry["trade_id"] = trade_ids[asset]
            lines.append(encode({**template, "data": data}))
    return lines


def main() -> None:
    text = TEMPLATE.read_text(encoding="utf-8").splitlines()[0]
    template = json.loads(text, parse_float=Decimal)
    if encode(template) != text:
        raise SystemExit("re-encoding the template frame would change its formatting")
    OUTPUT.write_text("\n".join(frames(template)) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
