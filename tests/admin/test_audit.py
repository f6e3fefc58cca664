"""The audit log: one JSON line per call, in a file per UTC day, private to the owner."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from trinity_beast.admin.audit import AuditLog

MIDNIGHT = 1_782_000_000.0  # 2026-06-21T00:00:00Z


def test_lines_files_and_modes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    now = [MIDNIGHT - 0.5]
    audit = AuditLog(tmp_path / "audit", "BeastMain", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="trinity_beast.admin.audit"):
        audit.record(client_ip="10.0.0.7", method="POST", endpoint="/admin/invalidate-key",
                     outcome="ok", status=200, key_id="ak_live_0123456789ab",
                     forwarded_for="198.51.100.4")
        now[0] = MIDNIGHT + 1
        audit.record(client_ip="10.0.0.8", method="GET", endpoint="/admin/cluster-stats",
                     outcome="invalid_admin_key", status=403, refused_before=0)
    first = tmp_path / "audit" / "admin-2026-06-20.jsonl"
    second = tmp_path / "audit" / "admin-2026-06-21.jsonl"
    assert json.loads(first.read_text()) == {
        "ts": "2026-06-20T23:59:59.500Z", "node": "BeastMain", "client_ip": "10.0.0.7",
        "method": "POST", "endpoint": "/admin/invalidate-key", "outcome": "ok", "status": 200,
        "key_id": "ak_live_0123456789ab", "forwarded_for": "198.51.100.4"}
    assert json.loads(second.read_text())["outcome"] == "invalid_admin_key"
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "audit").stat().st_mode) == 0o700
    assert [(r.levelname, r.getMessage(), r.__dict__["outcome"]) for r in caplog.records] == [
        ("INFO", "admin call", "ok"), ("WARNING", "admin call", "invalid_admin_key")]


def test_an_unwritable_folder_is_logged_not_raised(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "audit"
    blocker.write_text("a file where the folder should be")
    audit = AuditLog(blocker, "BeastMain", clock=lambda: MIDNIGHT)
    with caplog.at_level(logging.INFO, logger="trinity_beast.admin.audit"):
        entry = audit.record(client_ip="10.0.0.7", method="GET",
                             endpoint="/admin/cluster-stats", outcome="ok", status=200)
    assert entry.outcome == "ok"
    assert "audit line not written" in caplog.text
    assert [r.getMessage() for r in caplog.records][-1] == "admin call"  # still logged
