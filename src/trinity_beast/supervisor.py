"""``beast serve --workers N``: the feed hub in this process, N listener processes beside it.

Workers are fresh interpreters (``python -m trinity_beast serve --worker-fd FD``) that inherit
one end of a Unix socketpair; a worker that dies is started again. SIGTERM/SIGINT stops the
workers first (each drains gracefully), then the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass

from trinity_beast.app import Beast
from trinity_beast.hub import Hub

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0
STOP_GRACE = 10.0


@dataclass
class Worker:
    index: int
    process: asyncio.subprocess.Process


class Supervisor:
    def __init__(self, beast: Beast, hub: Hub, count: int) -> None:
        self.beast = beast
        self.hub = hub
        self.count = count
        self.workers: dict[int, Worker] = {}
        self.stopping = False

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["BEAST_WORKERS"] = str(self.count)
        s = self.beast.settings
        env.update({f"BEAST_REST_URL_{name.upper()}": url for name, url in s.rest_urls.items()})
        if s.lease_socket is not None:
            env["BEAST_LEASE_SOCKET"] = str(s.lease_socket)
        return env

    def _argv(self, fd: int) -> list[str]:
        s = self.beast.settings
        return [sys.executable, "-m", "trinity_beast", "serve", "--worker-fd", str(fd),
                "--role", s.role, "--host", s.host, "--port", str(s.lpo_http_port)]

    async def spawn(self, index: int) -> Worker:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            process = await asyncio.create_subprocess_exec(
                *self._argv(child_end.fileno()), pass_fds=[child_end.fileno()], env=self._env())
        finally:
            child_end.close()
        await self.hub.attach(parent_end)
        worker = Worker(index, process)
        self.workers[index] = worker
        return worker

    async def watch(self, worker: Worker) -> None:
        """Restart ``worker`` whenever it exits while we are not stopping."""
        while True:
            code = await worker.process.wait()
            if self.stopping:
                return
            log.error("worker exited; restarting", extra={"worker": worker.index, "code": code})
            await asyncio.sleep(RESTART_DELAY)
            worker = await self.spawn(worker.index)

    async def stop(self) -> None:
        self.stopping = True
        for worker in self.workers.values():
            if worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers.values():
            try:
                await asyncio.wait_for(worker.process.wait(), STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
                await worker.process.wait()


async def run_supervised(beast: Beast, hub: Hub, count: int, stop: asyncio.Event) -> None:
    supervisor = Supervisor(beast, hub, count)
    watchers = [asyncio.ensure_future(supervisor.watch(await supervisor.spawn(i)))
                for i in range(count)]
    try:
        await stop.wait()
    finally:
        await supervisor.stop()
        for watcher in watchers:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
