"""Handlers shared by the server tests."""

from __future__ import annotations

from trinity_beast.http import Request, Response


def echo(request: Request) -> Response:
    """Everything the handler saw, as JSON."""
    return Response.json({
        "method": request.method,
        "path": request.path,
        "query_string": request.query_string,
        "query": request.query(),
        "headers": request.headers,
        "body": request.body.decode("latin-1"),
        "http_version": request.http_version,
        "keep_alive": request.keep_alive,
        "client_host": request.client[0] if request.client else None,
    })
