"""The signed form: known-answer vectors (computed with ``openssl dgst -mac HMAC``), the time
window, replayed nonces, forged signatures and the bounded nonce cache."""

from __future__ import annotations

import pytest

from tests.prices.helpers import FakeClock
from tests.udp.conftest import NOW, key_record
from trinity_beast.errors import TooManyRequests, Unauthorized
from trinity_beast.keys.cache import KeyCache
from trinity_beast.keys.model import KeyRecord
from trinity_beast.udp.messages import Signed
from trinity_beast.udp.signing import (
    NonceCache,
    SignatureVerifier,
    canonical_string,
    signature,
    signing_key,
)

VECTOR_KEY = "tbk_test-vector-key-do-not-use-0000000000000000"
VECTOR_KEY_ID = "ak_live_0123456789ab"
TS = 1767225600
NONCE = "0123456789abcdef"


def test_signing_key_is_the_sha256_the_server_stores() -> None:
    assert signing_key(VECTOR_KEY).hex() == (
        "d870f52474f54493c2e85391f402030c1f06627eede6d26ef4117a142a914973")
    assert signing_key(VECTOR_KEY).hex() == key_record(VECTOR_KEY).key_hash


def test_canonical_string() -> None:
    assert canonical_string(VECTOR_KEY_ID, TS, NONCE, "/prices", ["BTC", "eth"]) == (
        b"tb-udp-v1\nak_live_0123456789ab\n1767225600\n0123456789abcdef\n/prices\nBTC,eth")


def test_known_answer_vectors() -> None:
    secret = signing_key(VECTOR_KEY)
    assert signature(secret, VECTOR_KEY_ID, TS, NONCE, "/price", ["btc"]) == (
        "670f649ab66d4cb94f542def7fc4286eea37fe2bf9765a3a0b3a8bc8ade906a6")
    assert signature(secret, VECTOR_KEY_ID, TS, "fedcba98765432100123456789abcdef", "/prices",
                     ["BTC", "eth", "SOL"]) == (
        "b7edd669106d0eab4d44cdb00d115aab1806a5d10fd612f24b104b08014f7031")


class Signer:
    def __init__(self, key: str = VECTOR_KEY, revoked: bool = False) -> None:
        self.key = key
        self.record: KeyRecord = key_record(key, revoked=revoked)
        self.clock = FakeClock(NOW)
        self.keys = KeyCache()
        self.keys.put(self.record)
        self.verifier = SignatureVerifier(self.keys, clock=self.clock)

    def signed(self, nonce: str = NONCE, ts: int = int(NOW), assets: tuple[str, ...] = ("btc",),
               endpoint: str = "/price") -> Signed:
        sig = signature(signing_key(self.key), self.record.key_id, ts, nonce, endpoint, assets)
        return Signed(self.record.key_id, ts, nonce, sig)

    def verify(self, signed: Signed, assets: tuple[str, ...] = ("btc",),
               endpoint: str = "/price") -> KeyRecord:
        return self.verifier.verify(signed, endpoint, assets)


def refusal(signer: Signer, signed: Signed, assets: tuple[str, ...] = ("btc",),
            endpoint: str = "/price") -> str:
    with pytest.raises(Unauthorized) as caught:
        signer.verify(signed, assets, endpoint)
    return caught.value.code


def test_valid_signature_returns_the_record() -> None:
    signer = Signer()
    assert signer.verify(signer.signed()) == signer.record


def test_window_is_30_seconds_either_way() -> None:
    signer = Signer()
    assert signer.verify(signer.signed(ts=int(NOW) - 30, nonce="a" * 16)) == signer.record
    assert signer.verify(signer.signed(ts=int(NOW) + 30, nonce="b" * 16)) == signer.record
    assert refusal(signer, signer.signed(ts=int(NOW) - 31, nonce="c" * 16)) == "stale_request"
    assert refusal(signer, signer.signed(ts=int(NOW) + 31, nonce="d" * 16)) == "stale_request"


def test_replayed_nonce_refused_until_its_timestamp_leaves_the_window() -> None:
    signer = Signer()
    first = signer.signed(ts=int(NOW))
    signer.verify(first)
    assert refusal(signer, first) == "replayed_request"
    signer.clock.now = NOW + 30  # still inside the window: still a replay
    assert refusal(signer, first) == "replayed_request"
    signer.clock.now = NOW + 31  # outside: refused as stale, whatever the cache holds
    assert refusal(signer, first) == "stale_request"
    again = signer.signed(ts=int(NOW) + 31)  # the same nonce with a new timestamp is new
    assert signer.verify(again) == signer.record


def test_tampering_and_unknown_keys_look_alike() -> None:
    signer = Signer()
    good = signer.signed()
    flipped = good._replace(sig=("0" if good.sig[0] != "0" else "1") + good.sig[1:])
    assert refusal(signer, flipped) == "invalid_signature"
    assert refusal(signer, good, assets=("eth",)) == "invalid_signature"
    assert refusal(signer, good, endpoint="/prices") == "invalid_signature"
    assert refusal(signer, good._replace(key_id="ak_live_ffffffffffff")) == "invalid_signature"
    other = Signer(key="tbk_some-other-key")
    assert refusal(signer, other.signed()._replace(key_id=signer.record.key_id)) == (
        "invalid_signature")
    assert signer.verify(good) == signer.record  # failures did not burn the nonce


def test_revoked_key_is_told_so_after_a_valid_signature() -> None:
    signer = Signer(revoked=True)
    assert refusal(signer, signer.signed()) == "revoked_api_key"


def test_nonce_cache_is_bounded_per_key() -> None:
    cache = NonceCache(max_per_key=2, sweep_seconds=30)
    assert cache.remember("k1", "n1", expires_at=130, now=100)
    assert cache.remember("k1", "n2", expires_at=140, now=100)
    assert cache.remember("k2", "n1", expires_at=130, now=100)  # other keys are separate
    assert not cache.remember("k1", "n1", expires_at=135, now=105)
    with pytest.raises(TooManyRequests) as full:
        cache.remember("k1", "n3", expires_at=135, now=105)
    assert (full.value.code, full.value.retry_after) == ("rate_limited", 25)
    assert cache.remember("k1", "n3", expires_at=160, now=131)  # n1 expired: room again
    assert len(cache) == 2  # k1: n2 and n3; k2's only nonce expired too


def test_nonce_cache_sweep_forgets_idle_keys() -> None:
    cache = NonceCache(max_per_key=10, sweep_seconds=30)
    cache.remember("k1", "n1", expires_at=130, now=100)
    cache.remember("k2", "n1", expires_at=200, now=100)
    cache.remember("k3", "n1", expires_at=200, now=131)  # the sweep runs first: k1 is gone
    assert len(cache) == 2
    assert cache.remember("k1", "n1", expires_at=170, now=140)
