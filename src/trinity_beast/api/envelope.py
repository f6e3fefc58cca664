"""The response envelope every JSON answer carries (API.md §5.3, §14).

``status`` is ``"<icon> [<SERVICE>] [<region>] [<node>] [<endpoint>] [<code>]"`` with ✅ for
success and ❌ for errors; ``status_code`` and ``endpoint`` repeat the parts a program needs.
"""

from __future__ import annotations

from functools import lru_cache

import msgspec

from trinity_beast.errors import BeastError


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    status_code: int
    endpoint: str
    error: str
    message: str
    retry_after: float | None = msgspec.field(default=None)


_encode = msgspec.json.Encoder().encode


class Envelope:
    def __init__(self, service: str, region: str, node: str) -> None:
        self.service = service
        self.region = region
        self.node = node

    @lru_cache(maxsize=1024)  # noqa: B019 - one Envelope per service for the process lifetime
    def status(self, endpoint: str, code: int) -> str:
        icon = "✅" if code < 400 else "❌"
        return f"{icon} [{self.service}] [{self.region}] [{self.node}] [{endpoint}] [{code}]"

    def error_body(self, endpoint: str, status: int, code: str, message: str,
                   retry_after: float | None = None) -> bytes:
        return _encode(ErrorBody(self.status(endpoint, status), status, endpoint, code, message,
                                 retry_after))

    def error_from(self, endpoint: str, exc: BeastError) -> bytes:
        return self.error_body(endpoint, exc.status, exc.code, exc.message, exc.retry_after)
