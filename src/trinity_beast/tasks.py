"""Named background tasks that log a crash instead of dying silently, and stop together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskGroup:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        task.add_done_callback(self._finished)
        self._tasks[name] = task
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task.get_name(), None)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task crashed", exc_info=task.exception(),
                      extra={"task": task.get_name()})

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
