"""Decoding one request datagram of the LPO's UDP port (docs/udp.md has the grammar).

Two encodings, told apart by the first non-blank byte (``{`` means JSON, anything else text),
and two ways to authenticate in each: the plain API key, or a signature by key id
(:mod:`trinity_beast.udp.signing`)::

    {"api_key": "tbk_…", "asset": "btc"}                  JSON, one asset   → /price
    {"api_key": "tbk_…", "assets": ["btc", "eth"]}        JSON, a batch     → /prices
    {"key_id": "ak_live_…", "ts": 1767225600, "nonce": "…", "asset": "btc", "sig": "…"}
    tbk_…|btc             tbk_…|btc,eth                   text, plain key
    ak_live_…|1767225600|<nonce>|btc,eth|<sig>            text, signed

Everything here is a pure function of the bytes: no clock, no keys, no I/O. A datagram that
cannot be decoded raises a :class:`~trinity_beast.errors.BeastError` with the same machine code
HTTP would use.
"""

from __future__ import annotations

import msgspec

from trinity_beast.api.assets import MAX_ASSET_LENGTH, normalize_asset
from trinity_beast.api.service import MAX_BATCH
from trinity_beast.errors import BadRequest, PayloadTooLarge, Unauthorized
from trinity_beast.udp.messages import Endpoint, Form, JsonRequest, Signed, UdpRequest

MAX_REQUEST_BYTES = 2048
"""Larger datagrams are refused unread (``payload_too_large``)."""
MAX_NAME_LENGTH = 128
"""Longest API key or key id accepted; anything longer cannot be ours."""
MAX_ERROR_DETAIL = 100

_decode_json = msgspec.json.Decoder(JsonRequest).decode


def sniff_form(data: bytes) -> Form:
    """How to answer ``data``, even when it cannot be decoded: JSON if it looks like JSON."""
    return "json" if data[:1] == b"{" or data.lstrip()[:1] == b"{" else "text"


def decode_request(data: bytes) -> UdpRequest:
    """The request in ``data``; raises ``BadRequest``, ``PayloadTooLarge`` or ``Unauthorized``
    (``missing_api_key``)."""
    if len(data) > MAX_REQUEST_BYTES:
        raise PayloadTooLarge(f"a request datagram may hold at most {MAX_REQUEST_BYTES} bytes")
    if data[:1] == b"{":
        return _from_json(data)
    stripped = data.strip()
    if not stripped:
        raise BadRequest("empty datagram")
    if stripped[:1] == b"{":
        return _from_json(stripped)
    return _from_text(stripped)


def _from_json(data: bytes) -> UdpRequest:
    try:
        body = _decode_json(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # bad UTF-8 inside a string
        raise BadRequest(f"not a valid request: {_detail(str(exc))}") from exc
    endpoint, assets = _json_assets(body)
    unsigned = body.key_id is None and body.ts is None and body.nonce is None and body.sig is None
    if body.api_key is not None:
        if not unsigned:
            raise BadRequest("send either 'api_key' or a signature, not both")
        return UdpRequest("json", endpoint, assets, _checked_key(body.api_key), None)
    if unsigned:
        raise Unauthorized("send 'api_key', or 'key_id', 'ts', 'nonce' and 'sig'",
                           code="missing_api_key")
    if body.key_id is None or body.ts is None or body.nonce is None or body.sig is None:
        raise BadRequest("a signed request needs 'key_id', 'ts', 'nonce' and 'sig'")
    signed = _checked_signature(body.key_id, body.ts, body.nonce, body.sig)
    return UdpRequest("json", endpoint, _plain_names(assets), None, signed)


def _json_assets(body: JsonRequest) -> tuple[Endpoint, tuple[str, ...]]:
    if body.asset is not None:
        if body.assets is not None:
            raise BadRequest("send either 'asset' or 'assets', not both")
        return "/price", (body.asset,)
    if body.assets is not None:
        return "/prices", tuple(body.assets)
    raise BadRequest("'asset' or 'assets' is required", code="missing_parameter")


def _from_text(data: bytes) -> UdpRequest:
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise BadRequest("a text request must be ASCII: KEY|ASSET[,ASSET...]") from exc
    fields = text.split("|")
    if len(fields) == 2:
        key, names = fields
        return UdpRequest("text", *_text_assets(names), _checked_key(key), None)
    if len(fields) == 5:
        key_id, ts, nonce, names, sig = fields
        if not (ts.isdigit() and len(ts) <= 12):
            raise BadRequest("the timestamp must be whole Unix seconds")
        signed = _checked_signature(key_id, int(ts), nonce, sig)
        endpoint, assets = _text_assets(names)
        return UdpRequest("text", endpoint, _plain_names(assets), None, signed)
    raise BadRequest("expected KEY|ASSET[,ASSET...] or KEY_ID|TS|NONCE|ASSET[,ASSET...]|SIG")


def _text_assets(names: str) -> tuple[Endpoint, tuple[str, ...]]:
    assets = tuple(names.split(","))
    return ("/price" if len(assets) == 1 else "/prices"), assets


def _checked_key(key: str) -> str:
    if not key.strip():
        raise Unauthorized("the API key is empty", code="missing_api_key")
    if len(key) > MAX_NAME_LENGTH:
        raise Unauthorized("that API key is not valid", code="invalid_api_key")
    return key


def _checked_signature(key_id: str, ts: int, nonce: str, sig: str) -> Signed:
    if not key_id or len(key_id) > MAX_NAME_LENGTH or not key_id.isprintable():
        raise BadRequest("'key_id' must be your key id, e.g. ak_live_0123456789ab")
    if not (16 <= len(nonce) <= 64 and _is_lower_hex(nonce)):
        raise BadRequest("'nonce' must be 16-64 lower-case hex characters")
    if not (len(sig) == 64 and _is_lower_hex(sig)):
        raise BadRequest("'sig' must be 64 lower-case hex characters (HMAC-SHA256)")
    if not 0 <= ts < 10**12:
        raise BadRequest("'ts' must be whole Unix seconds")
    return Signed(key_id, ts, nonce, sig)


def _plain_names(assets: tuple[str, ...]) -> tuple[str, ...]:
    """Signed requests sign the names as sent, so those must be bare letters or digits (no
    blanks, no commas): then the canonical string has exactly one reading."""
    for name in assets:
        if not (0 < len(name) <= MAX_ASSET_LENGTH and name.isascii() and name.isalnum()):
            raise BadRequest(f"signed requests name assets as 1-{MAX_ASSET_LENGTH} letters or "
                             "digits, without blanks", code="invalid_asset")
    return assets


def _is_lower_hex(text: str) -> bool:
    return text.isascii() and all(c in "0123456789abcdef" for c in text)


def normalize_assets(raw: tuple[str, ...]) -> tuple[str, ...]:
    """Upper-cased, de-duplicated names (first occurrence wins), 1 to ``MAX_BATCH`` of them.

    Any malformed name refuses the whole request (``invalid_asset``), so every name an answer
    repeats is at most 20 letters or digits: that is what keeps answers within one datagram.
    """
    if len(raw) == 1:
        return (_normalized(raw[0]),)
    if not raw:
        raise BadRequest("'assets' must name at least one asset", code="missing_parameter")
    assets = tuple(dict.fromkeys([_normalized(name) for name in raw]))
    if len(assets) > MAX_BATCH:
        raise BadRequest(f"at most {MAX_BATCH} distinct assets per request, got {len(assets)}",
                         code="too_many_assets")
    return assets


def _normalized(name: str) -> str:
    try:
        return normalize_asset(name)
    except BadRequest as exc:
        if exc.code == "missing_parameter":  # its message speaks of an HTTP query parameter
            raise BadRequest("an asset name is empty", code="invalid_asset") from exc
        raise


def _detail(text: str) -> str:
    return text if len(text) <= MAX_ERROR_DETAIL else text[: MAX_ERROR_DETAIL - 3] + "..."
