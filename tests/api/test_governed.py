"""Routes under the adaptive governor: in at the start, out with the outcome, 503 at the cap."""

from __future__ import annotations

import asyncio

import pytest

from trinity_beast.api.governed import governed, governed_table
from trinity_beast.errors import BadRequest, BeastError, Unavailable
from trinity_beast.http import Request, Response
from trinity_beast.limits.governor import Governor
from trinity_beast.params.values import Parameters


def request() -> Request:
    return Request("GET", "/price", "", {}, b"", ("127.0.0.1", 5000), "1.1", True)


def governor(cap: int = 2) -> Governor:
    params = Parameters()
    params.apply({"adaptive_max_concurrent": str(cap)})
    return Governor(params, "n:1")


def outcomes(g: Governor) -> tuple[int, int]:
    """(successes, total) of the tick in progress."""
    return g._ok, g._total


def test_a_synchronous_answer_counts_in_and_out() -> None:
    g = governor()
    seen: list[int] = []

    def route(_r: Request) -> Response:
        seen.append(g.inflight)
        return Response(200, b"{}", "application/json")

    result = governed(g, route)(request())
    assert isinstance(result, Response)
    assert (seen, g.inflight, outcomes(g)) == ([1], 0, (1, 1))


def test_a_client_error_is_a_success_and_a_server_error_is_not() -> None:
    g = governor()

    def bad(_r: Request) -> Response:
        raise BadRequest("no", code="missing_parameter")

    def down(_r: Request) -> Response:
        raise Unavailable("no price", code="no_price")

    for route in (bad, down):
        with pytest.raises(BeastError):
            governed(g, route)(request())
    assert (g.inflight, outcomes(g)) == (0, (1, 2))


async def test_a_later_answer_holds_its_slot_until_it_is_ready() -> None:
    g = governor(cap=1)
    release = asyncio.Event()

    async def slow(_r: Request) -> Response:
        await release.wait()
        return Response(503, b"{}", "application/json")

    pending = governed(g, slow)(request())
    assert g.inflight == 1
    with pytest.raises(Unavailable) as refused:
        governed(g, slow)(request())
    assert (refused.value.code, refused.value.status, g.refused) == ("overloaded", 503, 1)
    release.set()
    response = await pending  # type: ignore[misc]
    assert (response.status, g.inflight, outcomes(g)) == (503, 0, (0, 1))


async def test_while_throttling_the_refusal_waits_the_refusal_delay() -> None:
    g = governor(cap=1)
    g.inflight = 1
    g.refusal_delay = 0.01
    pending = governed(g, lambda _r: Response(200, b"", "text/plain"))(request())
    with pytest.raises(Unavailable):
        await pending  # type: ignore[misc]
    assert (g.inflight, g.refused) == (1, 1)


def test_only_the_named_paths_are_governed() -> None:
    g = governor(cap=1)
    g.inflight = 1
    ok = Response(200, b"", "text/plain")
    table = governed_table(g, {"/price": {"GET": lambda _r: ok},
                               "/health": {"GET": lambda _r: ok}}, frozenset({"/price"}))
    assert table["/health"]["GET"](request()) is ok
    with pytest.raises(Unavailable):
        table["/price"]["GET"](request())
