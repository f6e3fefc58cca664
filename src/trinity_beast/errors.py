"""Every error a caller can cause, each with an HTTP status and a stable machine code.

Hierarchy::

    BeastError                     status, code, message
    ├── BadRequest          400    bad_request, missing_parameter, invalid_json, …
    ├── Unauthorized        401    missing_api_key, invalid_api_key, revoked_api_key
    ├── Forbidden           403    forbidden, invalid_admin_key
    ├── NotFound            404    unknown_asset, not_found
    ├── MethodNotAllowed    405    method_not_allowed
    ├── PayloadTooLarge     413    payload_too_large
    ├── TooManyRequests     429    rate_limited, quota_exceeded, report_limit (retry_after)
    └── Unavailable         503    no_price, unavailable
"""

from __future__ import annotations


class BeastError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.retry_after = retry_after


class BadRequest(BeastError):
    status = 400
    code = "bad_request"


class Unauthorized(BeastError):
    status = 401
    code = "invalid_api_key"


class Forbidden(BeastError):
    status = 403
    code = "forbidden"


class NotFound(BeastError):
    status = 404
    code = "not_found"


class MethodNotAllowed(BeastError):
    status = 405
    code = "method_not_allowed"


class PayloadTooLarge(BeastError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(BeastError):
    status = 429
    code = "rate_limited"


class Unavailable(BeastError):
    status = 503
    code = "unavailable"
