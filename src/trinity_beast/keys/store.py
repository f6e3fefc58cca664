"""The key-store interface (SQL implementation: :mod:`trinity_beast.db.keys`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from trinity_beast.keys.model import KeyRecord, TierLimits


class UnknownKey(LookupError):
    """No key with that id."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"no API key with id {key_id!r}")
        self.key_id = key_id


class UnknownTier(ValueError):
    """A tier that ``rate_limit_template`` does not have."""

    def __init__(self, tier: str, known: list[str]) -> None:
        super().__init__(f"unknown tier {tier!r}; known tiers: {', '.join(known)}")
        self.tier = tier


class KeyStore(Protocol):
    async def create(self, tier: str, *, email: str | None = None, name: str | None = None,
                     lrs: bool = False) -> tuple[str, KeyRecord]:
        """A new key provisioned from the tier's template; returns (plaintext, record).

        The plaintext exists only in the return value: show it once.
        """
        ...

    async def get(self, key_id: str) -> KeyRecord | None: ...

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None: ...

    async def load_all(self) -> list[KeyRecord]:
        """Every key, revoked ones included (the cache answers "revoked" for those)."""
        ...

    async def changed_since(self, since: datetime) -> list[KeyRecord]:
        """Keys whose ``updated_at`` is at or after ``since``, oldest change first."""
        ...

    async def revoke(self, key_id: str) -> KeyRecord: ...

    async def set_tier(self, key_id: str, tier: str) -> KeyRecord:
        """Change the tier and re-provision the limits from the template."""
        ...

    async def set_lrs(self, key_id: str, enabled: bool) -> KeyRecord: ...

    async def ensure_demo_key(self, plaintext: str) -> KeyRecord:
        """Seed a key whose plaintext is fixed (tier ``demo``); idempotent."""
        ...

    async def tiers(self) -> dict[str, TierLimits]:
        """The rows of ``rate_limit_template``."""
        ...
