"""``beast serve``: run one node (LPO + LRS by default) until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from trinity_beast.app import Beast
from trinity_beast.compiled import compiled_modules, stale_sources
from trinity_beast.db.stores import USER_ERRORS
from trinity_beast.hub import Hub
from trinity_beast.logs import configure_logging
from trinity_beast.replay.recording import DEFAULT_DIR
from trinity_beast.settings import ROLES, Settings, load_settings
from trinity_beast.supervisor import run_supervised

log = logging.getLogger(__name__)

DEMO_KEY = "demo-public-2026-03-01-abc123"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="serve live prices (LPO :8080, LRS :9090)")
    parser.add_argument("--replay", nargs="?", const=DEFAULT_DIR, type=Path, metavar="DIR",
                        help="feed from the local replay exchange (default: the bundled set)")
    parser.add_argument("--role", choices=ROLES, help="overrides SERVER_TYPE")
    parser.add_argument("--host", help="bind address (BEAST_HOST, default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="LPO HTTP port (TCP_PORT_LPO, default 8080)")
    parser.add_argument("--workers", type=int, help="listener processes (BEAST_WORKERS, 1)")
    parser.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except USER_ERRORS as exc:
        print(f"beast: error: {exc}", file=sys.stderr)
        return 1
    changes: dict[str, object] = {}
    if args.role:
        changes["role"] = args.role
    if args.host:
        changes["host"] = args.host
    if args.port is not None:
        changes["lpo_http_port"] = args.port
    if args.workers is not None:
        if args.workers < 1:
            print("beast: error: --workers must be at least 1", file=sys.stderr)
            return 2
        changes["workers"] = args.workers
    settings = settings.with_(**changes)
    configure_logging("info", settings.node)
    _report_compiled()
    _install_uvloop()
    try:
        if args.worker_fd is not None:
            return asyncio.run(_serve_worker(settings, args.worker_fd))
        return asyncio.run(_serve(settings, args.replay))
    except USER_ERRORS as exc:
        print(f"beast: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"beast: error: cannot serve: {exc}", file=sys.stderr)
        return 1


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _serve(settings: Settings, replay: Path | None) -> int:
    stop = _stop_event()
    hub = Hub() if settings.workers > 1 else None
    beast = await Beast.open(settings, replay_dir=replay, hub=hub)
    try:
        await beast.start(listen=hub is None)
        _banner(beast)
        if hub is not None:
            await run_supervised(beast, hub, settings.workers, stop)
        else:
            await stop.wait()
    finally:
        print("beast: shutting down …", file=sys.stderr)
        await beast.stop()
    return 0


async def _serve_worker(settings: Settings, fd: int) -> int:
    stop = _stop_event()
    beast = await Beast.open(settings, hub_sock=socket.socket(fileno=fd))
    try:
        await beast.start()
        await stop.wait()
    finally:
        await beast.stop()
    return 0


def _banner(beast: Beast) -> None:
    s = beast.settings
    source = f"replay exchange on 127.0.0.1:{beast.replay.port}" if beast.replay else "live feeds"
    lines = [f"beast: {s.role} node {s.node!r} up ({source}); database {_safe(s.database_url)}"]
    if s.workers > 1:
        lines.append(f"beast: {s.workers} worker processes share the ports (SO_REUSEPORT)")
    if "lpo" in beast.servers or s.workers > 1:
        port = beast.servers["lpo"].port if "lpo" in beast.servers else s.lpo_http_port
        lines.append(f"beast: LPO http://{s.host}:{port}  — try:")
        lines.append(f"  curl -H 'Authorization: Bearer {DEMO_KEY}' "
                     f"'http://127.0.0.1:{port}/price?asset=btc'")
    print("\n".join(lines), file=sys.stderr, flush=True)


def _safe(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


def _report_compiled() -> None:
    """Say whether the hot path runs compiled, and warn when that build is out of date."""
    compiled = compiled_modules()
    log.info("hot path: %s", f"{len(compiled)} modules compiled with mypyc" if compiled
             else "interpreted (not compiled)")
    stale = stale_sources() if compiled else []
    if stale:
        log.warning("the compiled hot path is older than %s (and %d more source files): "
                    "run `make` to rebuild it, or BEAST_PURE_PYTHON=1 make to drop it",
                    stale[0], len(stale) - 1)


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
