"""Write ``src/trinity_beast/replay/default/gemini.jsonl``: synthetic Gemini trade frames.

Every line is an ``@trade`` event built from one recorded frame
(``tests/fixtures/exchanges/gemini/fastmm_2026-09-30_ws_trade.jsonl``, line 1): same keys,
order and formatting; only symbol, price, quantity, maker flag, trade id and event time
change. Prices wander a little around the illustrative reference prices below (the random
walk of ``common.py``; not market data). The output is deterministic: run
``.venv/bin/python scripts/replayset/gemini.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import common

TEMPLATE = common.FIXTURES / "gemini" / "fastmm_2026-09-30_ws_trade.jsonl"

REFERENCE_PRICES = {
    "AAVE": "165", "ADA": "0.68", "MATIC": "0.22", "ATOM": "4.3", "NEAR": "2.6",
    "ARB": "0.32", "MKR": "1350", "CRV": "0.55", "GRT": "0.09", "FIL": "2.6",
    "SHIB": "0.0000125", "BAT": "0.14", "MANA": "0.28", "SAND": "0.27", "AXS": "2.4",
    "CHZ": "0.038", "STORJ": "0.25", "AMP": "0.0042", "REN": "0.012", "UMA": "1.2",
    "BOND": "1.5", "CTSI": "0.065", "RLY": "0.0012", "RAD": "0.75",
}
START_NS = int(common.START) * 1_000_000_000


def frames(template: dict[str, Any]) -> list[str]:
    rng = common.seeded_rng()
    trade_id = int(template["t"])
    event_ns = START_NS
    lines: list[str] = []
    for asset in common.shuffled_rounds(rng, common.prewarm_assets("gemini")):
        reference = Decimal(REFERENCE_PRICES[asset])
        # About seven significant digits, at least five decimals (``83371.08000``).
        decimals = common.price_decimals(reference, 7, 5, 12)
        price = common.drifted_price(rng, reference, decimals)
        quantity = common.random_amount(rng, reference, Decimal("1e-10"))
        trade_id += rng.randint(1, 9)
        event_ns += rng.randint(50_000_000, 600_000_000) + rng.randint(0, 999)
        frame = dict(template)
        frame.update(
            E=event_ns, s=f"{asset.lower()}usd", t=trade_id, p=f"{price:.{decimals}f}",
            q=f"{quantity:.10f}", m=rng.random() < 0.5,
        )
        lines.append(common.compact_json(frame))
    return lines


def main() -> None:
    common.write_frames("gemini", frames(common.read_template(TEMPLATE)))


if __name__ == "__main__":
    main()
