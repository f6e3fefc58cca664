"""Usage record ids: unique, ascending within a process, a new tag in a forked child."""

from __future__ import annotations

import os
import re

from trinity_beast.usage.ids import new_record_id

_ID = re.compile(r"[0-9a-f]{32}")


def test_ids_are_32_hex_and_ascend_within_a_process() -> None:
    ids = [new_record_id() for _ in range(10_000)]
    assert all(_ID.fullmatch(record_id) for record_id in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert len({record_id[:16] for record_id in ids}) == 1  # one tag, then the sequence


def test_a_forked_child_draws_its_own_tag() -> None:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave at once
        os.write(writer, new_record_id().encode("ascii"))
        os._exit(0)
    os.close(writer)
    child_id = os.read(reader, 64).decode("ascii")
    os.close(reader)
    os.waitpid(pid, 0)
    assert _ID.fullmatch(child_id)
    assert child_id[:16] != new_record_id()[:16]
