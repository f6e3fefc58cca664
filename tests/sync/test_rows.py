"""Parsing COPY's text output into ZADD arguments, and reading rows whose ids need escaping."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sync.conftest import add_usage, at
from trinity_beast.db.schema import usage_logs
from trinity_beast.db.stores import Stores
from trinity_beast.sync.rows import CopyPairs, stream_scores


class Collected:
    def __init__(self) -> None:
        self.chunks: list[list[Any]] = []

    async def __call__(self, flat: list[Any]) -> None:
        self.chunks.append(flat)


async def test_pairs_across_chunk_boundaries() -> None:
    collected = Collected()
    pairs = CopyPairs(collected, chunk=2)
    for piece in (b"1.5\ta\n2.", b"25\tb", b"\n3\tc\n4\td\n", b"5\te"):
        await pairs.feed(piece)
    await pairs.close()
    assert collected.chunks == [[b"1.5", b"a", b"2.25", b"b", b"3", b"c", b"4", b"d"],
                                [b"5", b"e"]]
    assert pairs.rows == 5


async def test_escaped_fields_are_restored() -> None:
    collected = Collected()
    pairs = CopyPairs(collected, chunk=100)
    await pairs.feed(b"1\tta\\tb\n2\tback\\\\slash\\nline\n")
    await pairs.close()
    assert collected.chunks == [[b"1", b"ta\tb", b"2", b"back\\slash\nline"]]


async def test_a_row_with_one_column_is_refused() -> None:
    pairs = CopyPairs(Collected(), chunk=100)
    with pytest.raises(ValueError, match="two columns"):
        await pairs.feed(b"1\n")


async def test_ids_with_control_characters_round_trip(stores: Stores) -> None:
    moment = at("2026-06-15T12:00:00.123456")
    await add_usage(stores, [("id\twith\\odd\nchars", "ak_live_000000000001", moment),
                             ("plain", "ak_live_000000000001", moment)])
    collected = Collected()
    rows, newest = await stream_scores(stores.engine, usage_logs, None, collected)
    flat = [value.decode() if isinstance(value, bytes) else value
            for chunk in collected.chunks for value in chunk]
    assert rows == 2
    assert sorted(flat[1::2]) == ["id\twith\\odd\nchars", "plain"]
    assert {float(score) for score in flat[0::2]} == {moment.timestamp()}
    assert newest is not None
    assert (newest.at, newest.id) == (moment, "plain")
