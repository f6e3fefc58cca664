"""``beast replay DIR --port N``: run the replay exchange on its own."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from trinity_beast.logs import configure_logging
from trinity_beast.replay.recording import DEFAULT_DIR
from trinity_beast.replay.server import ReplayExchange


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("replay", help="serve recorded exchange frames locally")
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR,
                        help="folder of <exchange>.jsonl files (default: the bundled set)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--interval-ms", type=float, default=20.0,
                        help="pause between two frames on one connection")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.directory.is_dir():
        print(f"beast: error: {args.directory} is not a directory", file=sys.stderr)
        return 1
    configure_logging("info")
    exchange = ReplayExchange(args.directory, interval=args.interval_ms / 1000)
    if not exchange.venues:
        print(f"beast: error: no <exchange>.jsonl files in {args.directory}", file=sys.stderr)
        return 1
    try:
        asyncio.run(_run(exchange, args.host, args.port))
    except OSError as exc:
        print(f"beast: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run(exchange: ReplayExchange, host: str, port: int) -> None:
    await exchange.start(host, port)
    for name, url in exchange.ws_urls(host).items():
        print(f"{name:9} {url}  REST {exchange.rest_urls(host)[name]}", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await exchange.stop()
