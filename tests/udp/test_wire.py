"""Decoding request datagrams: every form, and every way a datagram can be wrong."""

from __future__ import annotations

import random

import pytest

from trinity_beast.errors import BadRequest, BeastError, PayloadTooLarge, Unauthorized
from trinity_beast.udp.messages import Signed, UdpRequest
from trinity_beast.udp.wire import MAX_REQUEST_BYTES, decode_request, normalize_assets, sniff_form

KEY = "tbk_" + "k" * 43
SIG = "ab" * 32
NONCE = "0123456789abcdef"


def test_json_single_asset() -> None:
    request = decode_request(b'{"api_key": "' + KEY.encode() + b'", "asset": " btc "}')
    assert request == UdpRequest("json", "/price", (" btc ",), KEY, None)


def test_json_batch_keeps_names_as_sent() -> None:
    request = decode_request(b'{"api_key":"' + KEY.encode() + b'","assets":["btc","ETH","btc"]}')
    assert request == UdpRequest("json", "/prices", ("btc", "ETH", "btc"), KEY, None)


def test_json_with_leading_blanks() -> None:
    request = decode_request(b'\n  {"api_key":"k","asset":"sol"}\n')
    assert request == UdpRequest("json", "/price", ("sol",), "k", None)


def test_json_signed() -> None:
    data = (b'{"key_id":"ak_live_0123456789ab","ts":1767225600,"nonce":"' + NONCE.encode()
            + b'","assets":["BTC","eth"],"sig":"' + SIG.encode() + b'"}')
    assert decode_request(data) == UdpRequest(
        "json", "/prices", ("BTC", "eth"), None,
        Signed("ak_live_0123456789ab", 1767225600, NONCE, SIG))


def test_text_plain_single_and_batch() -> None:
    assert decode_request(f"{KEY}|btc".encode()) == UdpRequest(
        "text", "/price", ("btc",), KEY, None)
    assert decode_request(f"{KEY}|btc,eth\r\n".encode()) == UdpRequest(
        "text", "/prices", ("btc", "eth"), KEY, None)


def test_text_signed() -> None:
    data = f"ak_live_0123456789ab|1767225600|{NONCE}|btc|{SIG}".encode()
    assert decode_request(data) == UdpRequest(
        "text", "/price", ("btc",), None, Signed("ak_live_0123456789ab", 1767225600, NONCE, SIG))


@pytest.mark.parametrize(("data", "error", "code"), [
    (b"", BadRequest, "bad_request"),
    (b" \n\t ", BadRequest, "bad_request"),
    (b"x" * (MAX_REQUEST_BYTES + 1), PayloadTooLarge, "payload_too_large"),
    (b"{", BadRequest, "bad_request"),
    (b"{}", BadRequest, "missing_parameter"),
    (b'{"asset":"btc"}', Unauthorized, "missing_api_key"),
    (b'{"api_key":"","asset":"btc"}', Unauthorized, "missing_api_key"),
    (b'{"api_key":"' + b"k" * 129 + b'","asset":"btc"}', Unauthorized, "invalid_api_key"),
    (b'{"api_key":1,"asset":"btc"}', BadRequest, "bad_request"),
    (b'{"api_key":"k","asset":"btc","extra":1}', BadRequest, "bad_request"),
    (b'{"api_key":"k","asset":"btc","assets":["eth"]}', BadRequest, "bad_request"),
    (b'{"api_key":"k","asset":"btc","key_id":"ak"}', BadRequest, "bad_request"),
    (b'{"key_id":"ak","asset":"btc"}', BadRequest, "bad_request"),
    (b'{"api_key":"\xff\xfe","asset":"btc"}', BadRequest, "bad_request"),
    (b'{"api_key":"k","asset":' + b'{"a":' * 200 + b"1" + b"}" * 201, BadRequest, "bad_request"),
    (b"[1, 2]", BadRequest, "bad_request"),
    (b"null", BadRequest, "bad_request"),
    (b"\xff\xfe\x00garbage", BadRequest, "bad_request"),
    (b"justonefield", BadRequest, "bad_request"),
    (b"a|b|c", BadRequest, "bad_request"),
    (b"|btc", Unauthorized, "missing_api_key"),
    (b"ak|12x|0123456789abcdef|btc|" + SIG.encode(), BadRequest, "bad_request"),
    (b"ak|1|0123456789ABCDEF|btc|" + SIG.encode(), BadRequest, "bad_request"),
    (b"ak|1|0123456789abcdef|btc|abc", BadRequest, "bad_request"),
    (b"ak|1|0123|btc|" + SIG.encode(), BadRequest, "bad_request"),
    (b"ak|1|0123456789abcdef| btc|" + SIG.encode(), BadRequest, "invalid_asset"),
    (b"ak|1|0123456789abcdef|b-c|" + SIG.encode(), BadRequest, "invalid_asset"),
])
def test_malformed_datagrams(data: bytes, error: type[BeastError], code: str) -> None:
    with pytest.raises(error) as caught:
        decode_request(data)
    assert caught.value.code == code
    assert len(caught.value.message) <= 140


def test_sniff_form() -> None:
    assert sniff_form(b'{"a":1}') == "json"
    assert sniff_form(b'  \n{"a":1}') == "json"
    assert sniff_form(b"KEY|BTC") == "text"
    assert sniff_form(b"") == "text"
    assert sniff_form(b"\xff{") == "text"


def test_normalize_assets_upper_cases_and_deduplicates_in_order() -> None:
    assert normalize_assets(("btc",)) == ("BTC",)
    assert normalize_assets((" eth", "BTC", "btc ", "Eth", "sol")) == ("ETH", "BTC", "SOL")


def test_normalize_assets_limits() -> None:
    thirty = tuple(f"a{i}" for i in range(30))
    assert len(normalize_assets((*thirty, "A0", "a29"))) == 30  # duplicates do not count
    with pytest.raises(BadRequest) as too_many:
        normalize_assets((*thirty, "b"))
    assert too_many.value.code == "too_many_assets"
    assert too_many.value.message == "at most 30 distinct assets per request, got 31"
    for bad, code in (((), "missing_parameter"), (("",), "invalid_asset"),
                      (("btc", " "), "invalid_asset"), (("b-tc",), "invalid_asset"),
                      (("x" * 21,), "invalid_asset"), (("bitcöin",), "invalid_asset")):
        with pytest.raises(BadRequest) as caught:
            normalize_assets(bad)
        assert caught.value.code == code, bad


def test_fuzzed_datagrams_only_ever_raise_beast_errors() -> None:
    rng = random.Random(2679)
    valid = [
        b'{"api_key":"' + KEY.encode() + b'","assets":["btc","eth"]}',
        b'{"key_id":"ak_live_0123456789ab","ts":1767225600,"nonce":"' + NONCE.encode()
        + b'","asset":"btc","sig":"' + SIG.encode() + b'"}',
        f"ak_live_0123456789ab|1767225600|{NONCE}|btc,eth|{SIG}".encode(),
        f"{KEY}|btc,eth".encode(),
    ]
    outcomes = {"decoded": 0, "refused": 0}
    for _ in range(20_000):
        data = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(data))
            action = rng.randrange(3)
            if action == 0:
                data[position] = rng.randrange(256)
            elif action == 1:
                del data[position]
            else:
                data[position:position] = bytes([rng.randrange(256)]) * rng.randint(1, 40)
        try:
            decode_request(bytes(data))
            outcomes["decoded"] += 1
        except BeastError:
            outcomes["refused"] += 1
    assert outcomes["decoded"] > 0 and outcomes["refused"] > 0
