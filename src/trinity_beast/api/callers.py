"""Who is calling: the key record behind a presented API key, from memory only."""

from __future__ import annotations

from trinity_beast.api.auth import bearer_token
from trinity_beast.errors import Unauthorized
from trinity_beast.keys.cache import KeyCache
from trinity_beast.keys.model import KeyRecord


class Authenticator:
    """Maps an ``Authorization`` header to a live :class:`KeyRecord` (no I/O).

    The presented key is hashed (SHA-256) and looked up by hash, so no comparison ever runs on
    the secret itself; the stored hash is never compared byte by byte against the plaintext.
    """

    def __init__(self, keys: KeyCache) -> None:
        self.keys = keys

    def from_header(self, header: str | None) -> KeyRecord:
        return self.from_key(bearer_token(header))

    def from_key(self, presented: str) -> KeyRecord:
        record = self.keys.lookup(presented)
        if record is None:
            raise Unauthorized("that API key is not valid", code="invalid_api_key")
        if record.revoked:
            raise Unauthorized("that API key has been revoked", code="revoked_api_key")
        return record
