"""HTTP/1.1 server on an asyncio protocol with the httptools parser (``docs/http-server.md``)."""

from trinity_beast.http.limits import HttpLimits
from trinity_beast.http.request import Request
from trinity_beast.http.response import (
    ErrorFactory,
    Handler,
    Response,
    default_error_factory,
    is_pending,
)
from trinity_beast.http.server import HttpServer

__all__ = [
    "ErrorFactory",
    "Handler",
    "HttpLimits",
    "HttpServer",
    "Request",
    "Response",
    "default_error_factory",
    "is_pending",
]
