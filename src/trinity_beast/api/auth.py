"""Reading the caller's API key from a request (``Authorization: Bearer KEY``)."""

from __future__ import annotations

from trinity_beast.errors import Unauthorized

MAX_KEY_LENGTH = 256


def bearer_token(header: str | None) -> str:
    """The key of an ``Authorization: Bearer KEY`` header; :class:`Unauthorized` otherwise."""
    if not header:
        raise Unauthorized("send your API key as 'Authorization: Bearer YOUR_API_KEY'",
                           code="missing_api_key")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer YOUR_API_KEY'",
                           code="invalid_api_key")
    if len(token) > MAX_KEY_LENGTH:
        raise Unauthorized("that API key is not valid", code="invalid_api_key")
    return token
