"""``bench/c/http_paced.c``, the constant-rate client of the half-peak latency benchmark,
against our own HTTP server: it sends the asked rate with the asked header, reads keep-alive
answers, counts non-2xx, and charges a server stall to every request it delays."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from trinity_beast.http import HttpServer, Request, Response

SOURCE = Path(__file__).resolve().parents[2] / "bench" / "c" / "http_paced.c"
AUTH = "Authorization: Bearer paced-key"
RATE, SECONDS, WARMUP = 200, 1.0, 0.25
STALL_SECONDS = 0.2


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build bench/c/http_paced.c (the hot path needs it too)")
    binary = tmp_path_factory.mktemp("paced") / "http_paced"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", str(binary), str(SOURCE)],
                   check=True)
    return binary


class Stalling:
    """Answers 200 to the bearer of ``paced-key`` (401 otherwise), 503 on ``/busy``; the first
    request after ``stall_after`` answered ones waits :data:`STALL_SECONDS`."""

    def __init__(self, stall_after: int | None = None) -> None:
        self.answered = 0
        self.stall_after = stall_after

    async def __call__(self, request: Request) -> Response:
        self.answered += 1
        if self.answered == self.stall_after:
            await asyncio.sleep(STALL_SECONDS)
        if request.header("authorization") != "Bearer paced-key":
            return Response.json({"error": "unauthorized"}, 401)
        busy = request.path == "/busy"
        return Response.json({"ok": not busy}, 503 if busy else 200)


async def paced(binary: Path, server: HttpServer, path: str, connections: int) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        str(binary), str(server.port), path, AUTH, str(RATE), str(SECONDS), str(connections),
        str(WARMUP), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    figures: dict[str, Any] = json.loads(out)
    return figures


async def serve(handler: Stalling) -> HttpServer:
    server = HttpServer(handler)
    await server.start("127.0.0.1", 0)
    return server


async def test_sends_the_rate_on_keep_alive_connections_with_the_header(client: Path) -> None:
    handler = Stalling()
    server = await serve(handler)
    try:
        figures = await paced(client, server, "/price?asset=BTC", connections=4)
    finally:
        await server.shutdown(grace=1.0)
    scheduled = round(RATE * (SECONDS + WARMUP))
    assert abs(figures["sent"] - scheduled) <= 1
    assert figures["answered"] == figures["sent"] == handler.answered
    assert abs(figures["measured"] - RATE * SECONDS) <= 1
    assert figures["non_2xx"] == figures["errors"] == figures["backlog_at_end"] == 0
    assert 0 < figures["p50_us"] <= figures["p99_us"] <= figures["max_us"]


async def test_counts_answers_that_are_not_2xx(client: Path) -> None:
    server = await serve(Stalling())
    try:
        figures = await paced(client, server, "/busy", connections=2)
    finally:
        await server.shutdown(grace=1.0)
    assert figures["non_2xx"] == figures["answered"] > 0


async def test_a_stall_is_charged_to_every_request_it_delays(client: Path) -> None:
    # One connection, one request every 5 ms: a 200 ms stall holds up about 40 scheduled
    # requests. Timed from when each was sent (coordinated omission), only one would be slow
    # and p90 would stay under a millisecond; timed from its schedule, the tenth slowest of
    # about 200 has waited about half the stall.
    server = await serve(Stalling(stall_after=round(RATE * WARMUP) + 50))
    try:
        figures = await paced(client, server, "/price?asset=BTC", connections=1)
    finally:
        await server.shutdown(grace=1.0)
    assert figures["max_us"] >= STALL_SECONDS * 1e6
    assert figures["p90_us"] >= STALL_SECONDS * 1e6 / 4
