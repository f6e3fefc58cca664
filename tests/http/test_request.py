from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from trinity_beast.http.request import Request, split_target


def make(query_string: str = "", headers: dict[str, str] | None = None) -> Request:
    return Request("GET", "/p", query_string, headers or {}, b"", ("127.0.0.1", 5000), "1.1",
                   True)


@pytest.mark.parametrize(("target", "expected"), [
    (b"/", ("/", "")),
    (b"/price?asset=btc", ("/price", "asset=btc")),
    (b"/a%20b/%E2%82%AC?q=%20", ("/a b/€", "q=%20")),
    (b"/bad%FFutf8", ("/bad\ufffdutf8", "")),
    (b"/p?x=1?y=2", ("/p", "x=1?y=2")),
    (b"/p#frag", ("/p", "")),
    (b"/p?q=1#frag", ("/p", "q=1")),
    (b"http://example.com/abs/path?q=1", ("/abs/path", "q=1")),
    (b"http://example.com", ("/", "")),
    (b"http://example.com?q=/x", ("/", "q=/x")),
    (b"example.com:443", ("example.com:443", "")),
    (b"*", ("*", "")),
])
def test_split_target(target: bytes, expected: tuple[str, str]) -> None:
    assert split_target(target) == expected


def test_query_is_decoded_once_and_the_first_value_wins() -> None:
    request = make("asset=btc&asset=eth&name=a%2Bb+c&flag&empty=")
    first = request.query()
    assert first == {"asset": "btc", "name": "a+b c", "flag": "", "empty": ""}
    assert request.query() is first


@pytest.mark.parametrize("query", [
    "asset=btc", "asset=btc&agg=median", "a=1&a=2", "flag", "&&x=1&", "=", "=v", "k==v",
    "x=1;y=2", "a=%41", "a=b+c", "a%3D=1", "asset=BTC&format=csv&limit=1000",
])
def test_query_parses_as_parse_qsl(query: str) -> None:
    """The direct split (nothing to decode) and parse_qsl agree, first value winning."""
    expected: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        expected.setdefault(name, value)
    assert make(query).query() == expected


def test_empty_query() -> None:
    assert make().query() == {}


def test_header_lookup_ignores_case() -> None:
    request = make(headers={"authorization": "Bearer k", "x-tag": "a, b"})
    assert request.header("Authorization") == "Bearer k"
    assert request.header("X-TAG") == "a, b"
    assert request.header("missing") is None
    assert request.header("missing", "fallback") == "fallback"


def test_repr_leaves_out_what_may_be_secret() -> None:
    assert repr(make("api_key_id=secret", {"authorization": "Bearer k"})) == (
        "<Request GET /p HTTP/1.1>")


def test_request_has_no_instance_dict() -> None:
    with pytest.raises(AttributeError):
        make().extra = 1  # type: ignore[attr-defined]
