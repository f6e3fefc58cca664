"""The audit log of admin calls: one JSON line per call in ``{var_dir}/audit/admin-{date}.jsonl``
(UTC date), and the same fields as a structured log line.

A line never holds the admin key or an API key: the target of a call is named by its
``key_id``. Files are created ``0600`` in a ``0700`` folder and written with ``O_APPEND`` in one
``write``, so the worker processes of one node can share them without interleaving lines.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ts: str
    node: str
    client_ip: str
    method: str
    endpoint: str
    outcome: str
    """``ok`` or the error code answered (``invalid_admin_key``, ``unknown_key`` …)."""
    status: int
    key_id: str | None = None
    detail: str | None = None
    forwarded_for: str | None = None
    """The ``X-Forwarded-For`` header as sent (informational: anyone can write it)."""
    refused_before: int | None = None
    """Rate-limited attempts from this client since its last admitted one (only the first of
    a run of refusals gets its own line)."""


class AuditLog:
    def __init__(self, directory: Path, node: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.node = node
        self.clock = clock

    def path_for(self, moment: datetime) -> Path:
        return self.directory / f"admin-{moment:%Y-%m-%d}.jsonl"

    def record(self, *, client_ip: str, method: str, endpoint: str, outcome: str, status: int,
               key_id: str | None = None, detail: str | None = None,
               forwarded_for: str | None = None,
               refused_before: int | None = None) -> AuditEntry:
        moment = datetime.fromtimestamp(self.clock(), UTC)
        entry = AuditEntry(
            ts=moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"), node=self.node,
            client_ip=client_ip, method=method, endpoint=endpoint, outcome=outcome,
            status=status, key_id=key_id, detail=detail, forwarded_for=forwarded_for,
            refused_before=refused_before or None)
        self._append(moment, _encode(entry) + b"\n")
        level = logging.INFO if outcome == "ok" else logging.WARNING
        fields = {k: v for k, v in msgspec.structs.asdict(entry).items() if v is not None}
        log.log(level, "admin call", extra=fields)
        return entry

    def _append(self, moment: datetime, line: bytes) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path_for(moment), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError:
            log.exception("audit line not written to %s", self.directory)
