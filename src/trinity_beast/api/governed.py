"""HTTP routes under the Distributed Adaptive Connection Governor (docs/limits.md).

``governed(governor, route)`` counts a request in before the route runs and out, with its
outcome, when the route's answer is ready — also for routes that answer later (Tier 2/3). At
the cap the request is refused with 503 ``overloaded``; while the cluster throttles, the
refusal is sent after ``refusal_delay`` seconds so that hammering clients slow down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from trinity_beast.api.router import Route, RouteTable
from trinity_beast.errors import BeastError
from trinity_beast.http import Request, Response, is_pending
from trinity_beast.limits.governor import Governor


def governed_table(governor: Governor, table: RouteTable, paths: frozenset[str]) -> RouteTable:
    """``table`` with the routes of ``paths`` (all their methods) put under ``governor``."""
    return {path: {method: governed(governor, route) if path in paths else route
                   for method, route in methods.items()}
            for path, methods in table.items()}


def governed(governor: Governor, route: Route) -> Route:
    def handle(request: Request) -> Response | Awaitable[Response]:
        try:
            governor.enter()
        except BeastError as refusal:
            if governor.refusal_delay > 0:
                return _refuse_later(governor.refusal_delay, refusal)
            raise
        try:
            result = route(request)
        except BaseException as exc:
            governor.leave(_succeeded(exc))
            raise
        if is_pending(result):
            return _finish(governor, result)
        governor.leave(result.status < 500)
        return result

    return handle


async def _finish(governor: Governor, pending: Awaitable[Response]) -> Response:
    try:
        response = await pending
    except BaseException as exc:
        governor.leave(_succeeded(exc))
        raise
    governor.leave(response.status < 500)
    return response


async def _refuse_later(delay: float, refusal: BeastError) -> Response:
    await asyncio.sleep(delay)
    raise refusal


def _succeeded(exc: BaseException) -> bool:
    """An error the caller caused (4xx) is a success for the governor; anything else is not."""
    return isinstance(exc, BeastError) and exc.status < 500
