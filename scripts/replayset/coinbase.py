"""Write ``src/trinity_beast/replay/default/coinbase.jsonl``: synthetic Coinbase trade frames.

Every line is a ``market_trades`` frame built from one recorded frame
(``tests/fixtures/exchanges/coinbase/fastmm_2026-09-30_ws_market_trades.jsonl``, line 2): same
keys, order and formatting; only product, price, size, side, ids and times change. Prices
wander a little around the illustrative reference prices below (not market data). The
output is deterministic: run ``.venv/bin/python scripts/replayset/coinbase.py``.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from trinity_beast.params.definitions import PREWARM_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "tests/fixtures/exchanges/coinbase/fastmm_2026-09-30_ws_market_trades.jsonl"
OUTPUT = ROOT / "src/trinity_beast/replay/default/coinbase.jsonl"

REFERENCE_PRICES = {
    "BTC": "83000", "ETH": "2650", "SOL": "140", "DOGE": "0.165", "XRP": "2.1",
    "LINK": "13.5", "DOT": "4.1", "LTC": "85", "AVAX": "19.5", "UNI": "6.2",
    "PEPE": "0.0000075", "XLM": "0.27", "RNDR": "3.9", "JASMY": "0.0145", "ICP": "5.3",
    "EOS": "0.55", "EGLD": "15.2", "ZEC": "38", "ENJ": "0.075", "ANKR": "0.018",
    "LRC": "0.085", "SKL": "0.021", "COTI": "0.065", "RLC": "1.05",
}
FRAMES_PER_ASSET = 8
START = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
SEED = 20261001


def price_decimals(reference: Decimal) -> int:
    """About five significant digits, at least cents."""
    return min(10, max(2, 5 - (reference.adjusted() + 1)))


def go_time(ts: float, digits: int) -> str:
    """RFC 3339 with Go's trimmed fraction (``02:39:59.4104Z``), as Coinbase writes it."""
    scale = 10**digits
    seconds, fraction = divmod(round(ts * scale), scale)
    text = f"{fraction:0{digits}d}".rstrip("0")
    moment = datetime.fromtimestamp(seconds, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{'.' + text if text else ''}Z"


def plain(number: Decimal) -> str:
    """Coinbase's number text: no exponent, no trailing zeros (``2667.2``)."""
    return f"{number.normalize():f}"


def frames(template: dict[str, Any]) -> list[str]:
    rng = random.Random(SEED)  # noqa: S311 (reproducible sample data, not secrets)
    assets = [a.upper() for a in PREWARM_DEFAULTS["coinbase"].split(",")]
    trade_ids = {asset: 100_000_000 + 7_919 * n for n, asset in enumerate(assets)}
    lines: list[str] = []
    moment = START
    for _round in range(FRAMES_PER_ASSET):
        for asset in rng.sample(assets, len(assets)):
            reference = Decimal(REFERENCE_PRICES[asset])
            step = Decimal(1).scaleb(-price_decimals(reference))
            drift = Decimal(str(round(rng.uniform(-0.004, 0.004), 6)))
            price = (reference * (1 + drift)).quantize(step)
            size = (Decimal(f"{rng.uniform(20, 5000):.2f}") / reference).quantize(Decimal("1e-8"))
            trade_ids[asset] += rng.randint(1, 40)
            moment += rng.uniform(0.05, 0.6)
            frame = copy.deepcopy(template)
            frame["timestamp"] = go_time(moment + rng.uniform(0.1, 0.2), 9)
            frame["sequence_num"] = len(lines)
            trade = frame["events"][0]["trades"][0]
            trade.update(
                product_id=f"{asset}-USD", trade_id=str(trade_ids[asset]), price=plain(price),
                size=plain(size), time=go_time(moment, 6), side=rng.choice(("BUY", "SELL")),
            )
            lines.append(json.dumps(frame, separators=(",", ":")))
    return lines


def main() -> None:
    text = TEMPLATE.read_text(encoding="utf-8").splitlines()[1]
    template = json.loads(text)
    if json.dumps(template, separators=(",", ":")) != text:
        raise SystemExit("re-encoding the template frame would change its formatting")
    OUTPUT.write_text("\n".join(frames(template)) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
