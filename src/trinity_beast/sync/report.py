"""What one sync run did: one :class:`PartReport` per part, in the order they ran."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Mode = Literal["full", "incremental", "skipped"]


class PartReport(msgspec.Struct, frozen=True, kw_only=True):
    """``count`` is the part's main figure (rows, keys, values); ``summary`` says it in words."""

    name: str
    mode: Mode
    count: int
    summary: str
    seconds: float

    def line(self) -> str:
        if self.mode == "skipped" and not self.seconds:
            return f"{self.name}: {self.summary}"
        return f"{self.name}: {self.summary} [{self.seconds * 1000:.0f} ms]"


class SyncReport(msgspec.Struct, frozen=True, kw_only=True):
    started_at: datetime
    full: bool
    parts: list[PartReport]
    seconds: float

    def part(self, name: str) -> PartReport:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)

    def lines(self) -> list[str]:
        return [part.line() for part in self.parts]
