"""The contract between the front-ends and the limiter."""

from __future__ import annotations

from typing import Protocol

from trinity_beast.keys.model import KeyRecord


class Admission(Protocol):
    def admit(self, key: KeyRecord, now: float) -> None:
        """Count one request of ``key``; raise ``TooManyRequests`` (with ``retry_after`` and
        code ``rate_limited`` or ``quota_exceeded``) when it must be refused. Never awaits."""


class AdmitAll:
    """No limits (used until a limiter is wired, and by roles that serve no prices)."""

    def admit(self, key: KeyRecord, now: float) -> None:
        return None
