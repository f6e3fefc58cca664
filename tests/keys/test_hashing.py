"""Key generation, hashing and constant-time verification."""

from __future__ import annotations

import hashlib
import re

from trinity_beast.keys.hashing import (
    demo_key_id,
    generate_key,
    hash_key,
    new_key_id,
    verify_key,
)


def test_generated_keys_carry_256_random_bits() -> None:
    keys = {generate_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"tbk_[A-Za-z0-9_-]{43}", key)


def test_key_ids_are_short_and_not_secret() -> None:
    ids = {new_key_id() for _ in range(200)}
    assert len(ids) == 200
    for key_id in ids:
        assert re.fullmatch(r"ak_live_[0-9a-f]{12}", key_id)


def test_hash_is_hex_sha256() -> None:
    assert hash_key("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_verify_accepts_only_the_key() -> None:
    key = generate_key()
    digest = hash_key(key)
    assert verify_key(key, digest)
    assert not verify_key(key + "x", digest)
    assert not verify_key("", digest)
    assert not verify_key(key, hash_key("other"))


def test_a_key_that_is_not_valid_utf8_is_just_wrong() -> None:
    assert not verify_key("\udcff", hash_key("x"))


def test_demo_key_id_is_derived_from_the_key() -> None:
    demo = "demo-public-2026-03-01-abc123"
    assert demo_key_id(demo) == "ak_demo_" + hash_key(demo)[:12]
    assert demo_key_id(demo) == demo_key_id(demo)
    assert demo_key_id(demo) != demo_key_id(demo + "x")
