"""Write ``src/trinity_beast/replay/default/gemini.jsonl``: synthetic Gemini trade frames.

Every line is an ``@trade`` event built from one recorded frame
(``tests/fixtures/exchanges/gemini/fastmm_2026-09-30_ws_trade.jsonl``, line 1): same keys,
order and formatting; only symbol, price, quantity, maker flag, trade id and event time
change. Prices wander a little around the illustrative reference prices below (not market
data). The output is deterministic: run ``.venv/bin/python scripts/replayset/gemini.py``.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from trinity_beast.params.definitions import PREWARM_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "tests/fixtures/exchanges/gemini/fastmm_2026-09-30_ws_trade.jsonl"
OUTPUT = ROOT / "src/trinity_beast/replay/default/gemini.jsonl"

REFERENCE_PRICES = {
    "AAVE": "165", "ADA": "0.68", "MATIC": "0.22", "ATOM": "4.3", "NEAR": "2.6",
    "ARB": "0.32", "MKR": "1350", "CRV": "0.55", "GRT": "0.09", "FIL": "2.6",
    "SHIB": "0.0000125", "BAT": "0.14", "MANA": "0.28", "SAND": "0.27", "AXS": "2.4",
    "CHZ": "0.038", "STORJ": "0.25", "AMP": "0.0042", "REN": "0.012", "UMA": "1.2",
    "BOND": "1.5", "CTSI": "0.065", "RLY": "0.0012", "RAD": "0.75",
}
FRAMES_PER_ASSET = 8
START_NS = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
SEED = 20261001


def price_decimals(reference: Decimal) -> int:
    """About seven significant digits, at least five decimals (``83371.08000``)."""
    return min(12, max(5, 7 - (reference.adjusted() + 1)))


def frames(template: dict[str, Any]) -> list[str]:
    rng = random.Random(SEED)  # noqa: S311 (reproducible sample data, not secrets)
    assets = [a.upper() for a in PREWARM_DEFAULTS["gemini"].split(",")]
    trade_id = int(template["t"])
    event_ns = START_NS
    lines: list[str] = []
    for _round in range(FRAMES_PER_ASSET):
        for asset in rng.sample(assets, len(assets)):
            reference = Decimal(REFERENCE_PRICES[asset])
            decimals = price_decimals(reference)
            drift = Decimal(str(round(rng.uniform(-0.004, 0.004), 6)))
            price = (reference * (1 + drift)).quantize(Decimal(1).scaleb(-decimals))
            notional = Decimal(f"{rng.uniform(20, 5000):.2f}")
            quantity = (notional / reference).quantize(Decimal("1e-10"))
            trade_id += rng.randint(1, 9)
            event_ns += rng.randint(50_000_000, 600_000_000) + rng.randint(0, 999)
            frame = dict(template)
            frame.update(
                E=event_ns, s=f"{asset.lower()}usd", t=trade_id, p=f"{price:.{decimals}f}",
                q=f"{quantity:.10f}", m=rng.random() < 0.5,
            )
            lines.append(json.dumps(frame, separators=(",", ":")))
    return lines


def main() -> None:
    text = TEMPLATE.read_text(encoding="utf-8").splitlines()[0]
    template = json.loads(text)
    if json.dumps(template, separators=(",", ":")) != text:
        raise SystemExit("re-encoding the template frame would change its formatting")
    OUTPUT.write_text("\n".join(frames(template)) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
