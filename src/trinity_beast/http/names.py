"""Header and method names as lower-case or exact `str`, decoded once per spelling and cached.

Only bounded sets are cached: llhttp accepts a fixed list of methods, and at most
``_NAME_CACHE_LIMIT`` header-name spellings are remembered (so a client sending random names
cannot grow the cache); other names are decoded each time.
"""

from __future__ import annotations

_NAME_CACHE_LIMIT = 512

_COMMON_HEADERS = (
    "Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
    "Connection", "Content-Length", "Content-Type", "Cookie", "Expect", "Host", "Keep-Alive",
    "Origin", "Pragma", "Referer", "Transfer-Encoding", "Upgrade", "User-Agent",
    "X-Admin-Key", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP", "X-Request-ID",
)

HEADER_NAMES: dict[bytes, str] = {
    spelling.encode("ascii"): name.lower()
    for name in _COMMON_HEADERS
    for spelling in (name, name.lower())
}
"""Lower-case name of each header-name spelling seen; read it first, then call ``learn``."""

METHOD_NAMES: dict[bytes, str] = {
    m.encode("ascii"): m
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE")
}


def learn_header_name(raw: bytes) -> str:
    """The lower-case ``str`` of a header name missing from :data:`HEADER_NAMES`."""
    name = raw.decode("latin-1").lower()
    if len(HEADER_NAMES) < _NAME_CACHE_LIMIT:
        HEADER_NAMES[raw] = name
    return name


def learn_method_name(raw: bytes) -> str:
    """The ``str`` of a method missing from :data:`METHOD_NAMES` (llhttp knows ~40)."""
    name = METHOD_NAMES[raw] = raw.decode("ascii")
    return name
