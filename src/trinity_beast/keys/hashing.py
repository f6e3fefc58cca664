"""Key generation, hashing and verification.

A generated key carries 256 bits from :mod:`secrets`, so one SHA-256 is enough to store it: no
dictionary attack applies to a random value of that size (a slow KDF protects guessable
passwords, which these are not). Only the hex digest is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "tbk_"
"""Marks a Trinity Beast key, so secret scanners and people recognise one."""
KEY_ID_PREFIX = "ak_live_"
DEMO_KEY_ID_PREFIX = "ak_demo_"


def generate_key() -> str:
    """A new plaintext key: ``tbk_`` + 43 URL-safe characters (32 random bytes)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    """A new non-secret key id: ``ak_live_`` + 12 random hex characters."""
    return KEY_ID_PREFIX + secrets.token_hex(6)


def hash_key(key: str) -> str:
    """Hex SHA-256 of the key, the only form in which a key is stored."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def verify_key(presented: str, key_hash: str) -> bool:
    """Whether ``presented`` is the key of ``key_hash`` (constant-time comparison)."""
    return hmac.compare_digest(hash_key(presented), key_hash)


def demo_key_id(plaintext: str) -> str:
    """The key id of a fixed (seeded) key: derived from its hash so every node agrees."""
    return DEMO_KEY_ID_PREFIX + hash_key(plaintext)[:12]
