"""The signed request form: the API key never travels, replays and forgeries are refused.

A client signs each request with HMAC-SHA256. The HMAC key is ``SHA-256(api_key)`` (32 raw
bytes): the server stores exactly that digest (``api_keys.key_hash``), so it can verify without
ever holding the plaintext, and the client derives it from the key it already has. The datagram
carries the key id, a timestamp, a nonce and the HMAC, never the key or its digest; an HMAC
reveals neither, so a captured datagram cannot be turned into a new request. The signed string
is, UTF-8, fields joined by ``\\n`` and no trailing newline::

    tb-udp-v1
    <key_id>
    <ts>              whole Unix seconds, decimal, as sent
    <nonce>           16-64 lower-case hex characters, fresh per request
    <endpoint>        /price (JSON "asset", or one text name) or /prices
    <assets>          the names exactly as sent, joined by ","

A request is refused when ``|now - ts| > window`` (``stale_request``), when its key id is
unknown or the HMAC differs (``invalid_signature``; both look alike so key ids cannot be
probed), or when its nonce was already accepted for that key within the window
(``replayed_request``). Nonces are only remembered after the HMAC checks out, so forged
datagrams cannot fill the cache.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence

from trinity_beast.errors import TooManyRequests, Unauthorized
from trinity_beast.keys.cache import KeyCache
from trinity_beast.keys.model import KeyRecord
from trinity_beast.udp.messages import Signed

SIGNATURE_VERSION = "tb-udp-v1"
DEFAULT_WINDOW_SECONDS = 30.0
DEFAULT_MAX_NONCES_PER_KEY = 16_384
"""Accepted signed requests one key may make per window (about 270/s for a 60 s span)."""
_UNKNOWN_KEY_SECRET = bytes(32)
"""An unknown key id still costs one HMAC, so its answer takes as long as a wrong signature."""


def canonical_string(key_id: str, ts: int, nonce: str, endpoint: str,
                     assets: Sequence[str]) -> bytes:
    return "\n".join(
        (SIGNATURE_VERSION, key_id, str(ts), nonce, endpoint, ",".join(assets))
    ).encode()


def signing_key(api_key: str) -> bytes:
    """What a client derives from its key: ``SHA-256(api_key)``, raw bytes."""
    return hashlib.sha256(api_key.encode()).digest()


def signature(secret: bytes, key_id: str, ts: int, nonce: str, endpoint: str,
              assets: Sequence[str]) -> str:
    """Hex HMAC-SHA256 of the canonical string under ``secret`` (see :func:`signing_key`)."""
    message = canonical_string(key_id, ts, nonce, endpoint, assets)
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class NonceCache:
    """Nonces accepted per key, each kept until its request's timestamp leaves the window.

    At most ``max_per_key`` live nonces per key: a key that exceeds it is refused
    (``rate_limited``) rather than forgetting a nonce that could then be replayed.
    """

    def __init__(self, max_per_key: int = DEFAULT_MAX_NONCES_PER_KEY,
                 sweep_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        self.max_per_key = max_per_key
        self.sweep_seconds = sweep_seconds
        self._seen: dict[str, dict[str, float]] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return sum(len(nonces) for nonces in self._seen.values())

    def remember(self, key_id: str, nonce: str, expires_at: float, now: float) -> bool:
        """Record ``nonce``; ``False`` when it is already live (a replay)."""
        if now >= self._next_sweep:
            self._sweep(now)
        seen = self._seen.setdefault(key_id, {})
        previous = seen.get(nonce)
        if previous is not None and previous >= now:
            return False
        if len(seen) >= self.max_per_key:
            _drop_expired(seen, now)
            if len(seen) >= self.max_per_key:
                raise TooManyRequests("too many signed requests for this key in the window",
                                      code="rate_limited",
                                      retry_after=max(0.0, min(seen.values()) - now))
        seen[nonce] = expires_at
        return True

    def _sweep(self, now: float) -> None:
        for key_id, seen in tuple(self._seen.items()):
            _drop_expired(seen, now)
            if not seen:
                del self._seen[key_id]
        self._next_sweep = now + self.sweep_seconds


def _drop_expired(seen: dict[str, float], now: float) -> None:
    for nonce in [n for n, expires_at in seen.items() if expires_at < now]:
        del seen[nonce]


class SignatureVerifier:
    """Maps a signed request to its key record (no I/O: keys and nonces are in memory)."""

    def __init__(self, keys: KeyCache, *, window: float = DEFAULT_WINDOW_SECONDS,
                 nonces: NonceCache | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self.window = window
        self.nonces = nonces if nonces is not None else NonceCache(sweep_seconds=window)
        self.clock = clock

    def verify(self, signed: Signed, endpoint: str, assets: Sequence[str]) -> KeyRecord:
        """The signer's record; raises ``Unauthorized`` (``stale_request``,
        ``invalid_signature``, ``replayed_request``, ``revoked_api_key``) or, when the key's
        nonce cache is full, ``TooManyRequests``."""
        now = self.clock()
        if abs(now - signed.ts) > self.window:
            raise Unauthorized(f"'ts' is more than {self.window:g} s from the server's time",
                               code="stale_request")
        record = self.keys.get(signed.key_id)
        secret = _UNKNOWN_KEY_SECRET if record is None else bytes.fromhex(record.key_hash)
        expected = signature(secret, signed.key_id, signed.ts, signed.nonce, endpoint, assets)
        if not hmac.compare_digest(expected, signed.sig) or record is None:
            raise Unauthorized("the signature does not match", code="invalid_signature")
        if not self.nonces.remember(signed.key_id, signed.nonce, signed.ts + self.window, now):
            raise Unauthorized("that nonce was already used", code="replayed_request")
        if record.revoked:
            raise Unauthorized("that API key has been revoked", code="revoked_api_key")
        return record
