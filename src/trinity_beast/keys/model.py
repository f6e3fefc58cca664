"""The API-key record and the limits of each tier (API.md §3.1, plus our ``demo`` tier)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class TierLimits(msgspec.Struct, frozen=True, kw_only=True):
    """One row of ``rate_limit_template``; ``None`` means "no limit"."""

    tier: str
    query_limit: int | None
    rate_limit_qps: float | None
    burst_limit: int | None
    minimum_wait_seconds: float
    reports_unlimited: bool
    """LRS reports are unlimited without the add-on (API.md §7.1)."""


def _tier(tier: str, query_limit: int | None, qps: float | None, burst: int | None,
          min_wait: float, reports_unlimited: bool) -> TierLimits:
    return TierLimits(tier=tier, query_limit=query_limit, rate_limit_qps=qps, burst_limit=burst,
                      minimum_wait_seconds=min_wait, reports_unlimited=reports_unlimited)


TIER_LIMITS: dict[str, TierLimits] = {
    t.tier: t
    for t in (
        _tier("free", 1000, 1.0, 5, 1.0, False),
        _tier("pro", 50_000, 10.0, 20, 0.1, False),
        _tier("enterprise", 500_000, 50.0, 100, 0.02, False),
        _tier("unlimited", None, 100.0, 200, 0.01, True),
        _tier("lifetime", None, 100.0, 200, 0.01, True),
        _tier("partner", None, None, None, 0.0, True),
        # Ours: the public demo key. No monthly cap (it is shared by every visitor), 3 QPS and a
        # burst of 3 as the seed's §7 states; the qps/burst parameters (profiles) retune it live.
        _tier("demo", None, 3.0, 3, 0.0, False),
    )
}
"""The rows the initial migration writes into ``rate_limit_template``."""


class KeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One ``api_keys`` row (plus the owner's e-mail). Never holds the plaintext key."""

    id: str
    key_id: str
    """Short non-secret identifier (``ak_live_…``) used in logs, usage rows and reports."""
    key_hash: str
    tier: str
    query_limit: int | None
    rate_limit_qps: float | None
    burst_limit: int | None
    burst_tokens: float
    minimum_wait_seconds: float
    created_at: datetime
    updated_at: datetime
    current_usage: int = 0
    user_id: str | None = None
    email: str | None = None
    name: str | None = None
    lrs_enabled: bool = False
    revoked: bool = False
    response_format: str = "tbc"
    api_lang: str = "en"
    last_used: datetime | None = None
    last_success: datetime | None = None
