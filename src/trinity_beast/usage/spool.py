"""The on-disk spool: usage records that could not reach the database (or the stream) yet.

Layout (``{var_dir}/spool/usage/``): segment files ``{time_ns}-{pid}-{seq}.seg``, each a
sequence of frames ``[length u32][crc32 u32][msgpack list of UsageRecord]`` (big-endian).
A process appends only to its own *active* segment, holding an exclusive ``flock`` on it, and
fsyncs after every frame: a record counted as spooled survives a crash or power loss. A
segment is replayed by whoever can ``flock`` it (so several processes on one ``var_dir`` never
replay the same file at once), frame by frame, and deleted only after every frame was written.
A replay interrupted half-way is repeated from the first frame: the database de-duplicates by
record id. A torn last frame (a crash in the middle of an append) is skipped with a warning.

Records the database refuses as bad data are appended to ``rejected/`` for an operator and
never replayed; so is a segment with an intact frame that does not decode (written by a
version with another record layout). The bound ``max_bytes`` covers both folders; an append
that would exceed it is refused (the caller counts the records as dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from trinity_beast.usage.record import UsageRecord

log = logging.getLogger(__name__)

FRAME_HEADER = struct.Struct(">II")
"""Payload length and CRC-32 of the payload."""
SEGMENT_SUFFIX = ".seg"
SEGMENT_BYTES = 4 * 1024 * 1024
"""A segment is sealed (and a new one started) once it is this large."""
DEFAULT_MAX_BYTES = 512 * 1024 * 1024

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[UsageRecord]).decode


class UnreadableSegment(ValueError):
    """A segment with an intact frame that does not decode to records (another version)."""


def encode_frame(records: list[UsageRecord]) -> bytes:
    payload = _encode(records)
    return FRAME_HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def decode_frames(data: bytes, name: str = "segment") -> Iterator[list[UsageRecord]]:
    """The frames of a segment's bytes; stops (with a warning) at a torn or damaged frame."""
    offset = 0
    while offset < len(data):
        end = offset + FRAME_HEADER.size
        if end <= len(data):
            length, crc = FRAME_HEADER.unpack_from(data, offset)
            payload = data[end:end + length]
            if len(payload) == length and zlib.crc32(payload) == crc:
                try:
                    yield _decode(payload)
                except msgspec.DecodeError as exc:  # intact, but not records we can read
                    raise UnreadableSegment(f"{name}: frame at offset {offset}: {exc}") from exc
                offset = end + length
                continue
        log.warning("usage spool %s: %d damaged bytes at offset %d skipped (torn write)",
                    name, len(data) - offset, offset)
        return


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # replayed and deleted by another process meanwhile
        return 0


def _try_lock(handle: BinaryIO) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Spool:
    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                 segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.rejected_directory = directory / "rejected"
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._active: BinaryIO | None = None
        self._sequence = 0
        # A thread lock, not an asyncio one: a cancelled caller's to_thread keeps running,
        # and the next append must still wait for its frame to be complete.
        self._lock = threading.Lock()

    def size_bytes(self) -> int:
        """Bytes in every segment, pending and rejected, of every process."""
        paths = [*self._segments(self.directory), *self._segments(self.rejected_directory)]
        return sum(map(_size, paths))

    def pending(self) -> list[Path]:
        """The segments waiting for replay (including active ones of running processes)."""
        return sorted(self._segments(self.directory))

    async def append(self, records: list[UsageRecord]) -> bool:
        """Append one frame and fsync it; False (nothing kept) when over the bound or when
        the disk fails (logged)."""
        return await asyncio.to_thread(self._guarded, self._append, encode_frame(records))

    async def reject(self, records: list[UsageRecord]) -> bool:
        """Keep records the database refused in ``rejected/`` (never replayed)."""
        return await asyncio.to_thread(
            self._guarded, self._append_rejected, encode_frame(records))

    async def replay(self, write: Callable[[list[UsageRecord]], Awaitable[None]]) -> int:
        """Pass every frame of every segment nobody else holds to ``write``, deleting each
        segment once all its frames are written; returns the records replayed. An exception
        from ``write`` stops the replay (that segment stays) and propagates."""
        await asyncio.to_thread(self.close)
        replayed = 0
        for path in self.pending():
            handle = await asyncio.to_thread(self._claim, path)
            if handle is None:
                continue
            try:
                data = await asyncio.to_thread(handle.read)
                for records in decode_frames(data, path.name):
                    await write(records)
                    replayed += len(records)
                await asyncio.to_thread(path.unlink)
            except UnreadableSegment as exc:
                log.error("usage spool segment moved to rejected/: %s", exc)  # noqa: TRY400
                await asyncio.to_thread(self._set_aside, path)
            finally:
                handle.close()
        return replayed

    def close(self) -> None:
        """Seal the active segment (it stays on disk for the next replay)."""
        with self._lock:
            self._seal()

    def _guarded(self, append: Callable[[bytes], bool], frame: bytes) -> bool:
        with self._lock:
            try:
                return append(frame)
            except OSError as exc:
                # The OS error says what is wrong; a traceback would add nothing.
                log.error("usage spool %s cannot be written: %s",  # noqa: TRY400
                          self.directory, exc)
                with contextlib.suppress(OSError):
                    self._seal()  # a half-written frame ends that segment; replay skips it
                return False

    def _append(self, frame: bytes) -> bool:
        if self.size_bytes() + len(frame) > self.max_bytes:
            return False
        handle = self._active
        if handle is None or handle.tell() >= self.segment_bytes:
            self._seal()
            handle = self._active = self._create(self.directory)
        handle.write(frame)
        handle.flush()
        os.fsync(handle.fileno())
        return True

    def _append_rejected(self, frame: bytes) -> bool:
        if self.size_bytes() + len(frame) > self.max_bytes:
            return False
        with self._create(self.rejected_directory) as handle:
            handle.write(frame)
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def _create(self, directory: Path) -> BinaryIO:
        """A new segment in ``directory``, locked by this process, its name made durable."""
        directory.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        name = f"{time.time_ns():020d}-{os.getpid()}-{self._sequence:06d}{SEGMENT_SUFFIX}"
        handle = (directory / name).open("xb")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        _fsync_directory(directory)
        return handle

    def _seal(self) -> None:
        handle, self._active = self._active, None
        if handle is not None:
            handle.close()

    def _set_aside(self, path: Path) -> None:
        self.rejected_directory.mkdir(parents=True, exist_ok=True)
        path.rename(self.rejected_directory / path.name)

    @staticmethod
    def _claim(path: Path) -> BinaryIO | None:
        """``path`` opened and locked, or None when another holder has it or it is gone."""
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return None
        if not _try_lock(handle):
            handle.close()
            return None
        with contextlib.suppress(FileNotFoundError):
            if os.fstat(handle.fileno()).st_ino == path.stat().st_ino:
                return handle  # still the file of that name: not replayed and deleted meanwhile
        handle.close()
        return None

    @staticmethod
    def _segments(directory: Path) -> Iterator[Path]:
        return directory.glob(f"*{SEGMENT_SUFFIX}")  # nothing when the folder does not exist
