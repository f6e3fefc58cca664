"""The on-disk spool: append, replay, removal only after success, the bound, torn frames and
segments held by another spool (another process)."""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import msgspec
import pytest

from tests.usage.helpers import records
from trinity_beast.usage.record import UsageRecord
from trinity_beast.usage.spool import FRAME_HEADER, Spool, encode_frame


class Collector:
    """A replay target that keeps what it is given (and can fail at a chosen call)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.frames: list[list[UsageRecord]] = []
        self.calls = 0
        self.fail_at = fail_at

    async def __call__(self, batch: list[UsageRecord]) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("database went away")
        self.frames.append(batch)


async def test_replay_returns_frames_in_order_and_removes_the_segment(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    first, second = records(["ak_a"], 3), records(["ak_b"], 2)
    assert await spool.append(first)
    assert await spool.append(second)
    assert len(spool.pending()) == 1
    collector = Collector()
    assert await spool.replay(collector) == 5
    assert collector.frames == [first, second]
    assert spool.pending() == []
    assert spool.size_bytes() == 0


async def test_a_failed_replay_keeps_the_segment_and_repeats_it_whole(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    first, second = records(["ak_a"], 3), records(["ak_b"], 2)
    await spool.append(first)
    await spool.append(second)
    failing = Collector(fail_at=2)
    with pytest.raises(ConnectionError):
        await spool.replay(failing)
    assert failing.frames == [first]
    assert len(spool.pending()) == 1
    again = Collector()
    assert await spool.replay(again) == 5
    assert again.frames == [first, second]
    assert spool.pending() == []


async def test_the_bound_refuses_appends_until_replay_frees_room(tmp_path: Path) -> None:
    batch = records(["ak_a"], 10)
    frame = len(encode_frame(batch))
    spool = Spool(tmp_path / "spool", max_bytes=2 * frame + 10)
    assert await spool.append(batch)
    assert await spool.append(batch)
    assert not await spool.append(batch)
    assert spool.size_bytes() == 2 * frame
    await spool.replay(Collector())
    assert await spool.append(batch)


async def test_segments_rotate_and_replay_oldest_first(tmp_path: Path) -> None:
    batches = [records(["ak_a"], 4) for _ in range(5)]
    spool = Spool(tmp_path / "spool", segment_bytes=len(encode_frame(batches[0])) + 1)
    for batch in batches:
        await spool.append(batch)
    assert len(spool.pending()) == 3  # two frames fill a segment past its size
    collector = Collector()
    assert await spool.replay(collector) == 20
    assert collector.frames == batches


async def test_a_torn_last_frame_is_skipped_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path / "spool")
    first, second = records(["ak_a"], 3), records(["ak_b"], 3)
    await spool.append(first)
    await spool.append(second)
    spool.close()
    [segment] = spool.pending()
    segment.write_bytes(segment.read_bytes()[:-5])  # a crash in the middle of the append
    collector = Collector()
    with caplog.at_level(logging.WARNING, logger="trinity_beast.usage.spool"):
        assert await spool.replay(collector) == 3
    assert collector.frames == [first]
    damaged = len(encode_frame(second)) - 5
    assert [r.getMessage() for r in caplog.records] == [
        f"usage spool {segment.name}: {damaged} damaged bytes at offset "
        f"{len(encode_frame(first))} skipped (torn write)"]
    assert spool.pending() == []


async def test_the_active_segment_of_another_spool_is_left_alone(tmp_path: Path) -> None:
    """Two processes on one var_dir: a segment still being written is not replayed."""
    writer, replayer = Spool(tmp_path / "spool"), Spool(tmp_path / "spool")
    batch = records(["ak_a"], 3)
    await writer.append(batch)
    empty = Collector()
    assert await replayer.replay(empty) == 0
    assert empty.frames == []
    writer.close()  # the writing process ends (or seals its segment)
    collector = Collector()
    assert await replayer.replay(collector) == 3
    assert collector.frames == [batch]


async def test_a_new_spool_replays_what_the_previous_run_left(tmp_path: Path) -> None:
    before = Spool(tmp_path / "spool")
    batch = records(["ak_a"], 7)
    await before.append(batch)
    before.close()
    collector = Collector()
    assert await Spool(tmp_path / "spool").replay(collector) == 7
    assert collector.frames == [batch]


async def test_rejected_records_are_kept_apart_and_never_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    bad = records(["ak_a"], 1)
    assert await spool.reject(bad)
    collector = Collector()
    assert await spool.replay(collector) == 0
    assert spool.size_bytes() == len(encode_frame(bad))
    [kept] = (tmp_path / "spool" / "rejected").iterdir()
    assert kept.read_bytes() == encode_frame(bad)


async def test_a_failing_disk_refuses_the_append_without_raising(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "spool").write_text("a file where the spool folder should be")
    spool = Spool(tmp_path / "spool")
    with caplog.at_level(logging.ERROR, logger="trinity_beast.usage.spool"):
        assert not await spool.append(records(["ak_a"], 2))
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        f"usage spool {tmp_path / 'spool'} cannot be written"]


async def test_an_intact_but_unreadable_segment_is_set_aside(tmp_path: Path) -> None:
    """A frame of another record layout: kept in rejected/, the other segments replayed."""
    spool = Spool(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    payload = msgspec.msgpack.encode([["too", "short"]])
    foreign = tmp_path / "spool" / "00000000000000000001-1-000001.seg"
    foreign.write_bytes(FRAME_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
    batch = records(["ak_a"], 2)
    await spool.append(batch)
    collector = Collector()
    assert await spool.replay(collector) == 2
    assert collector.frames == [batch]
    assert spool.pending() == []
    assert [p.name for p in (tmp_path / "spool" / "rejected").iterdir()] == [foreign.name]
