"""``beast sync [--full]``: one run of the sync job (for cron), one line per part on stdout.

The stored parameters (``retention_days`` …) are read from the database first. Without
``REDIS_URL`` the database parts (monthly reset, retention, rollup) still run and the Valkey
parts say they were skipped. A user error (database or Valkey unreachable, …) is one line on
stderr and exit code 1.
"""

from __future__ import annotations

import argparse
from typing import Any

from trinity_beast.db.stores import Stores, run_command
from trinity_beast.params.definitions import PARAMS
from trinity_beast.sync.job import run_sync


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sync", help="sync the database to Valkey; monthly reset and retention",
        description="Copy API keys, parameters and log indexes from the database to Valkey "
                    "(only what changed since the last run unless --full), start a new month "
                    "on the 1st, and delete logs past retention_days.")
    parser.add_argument("--full", action="store_true",
                        help="rebuild the Valkey copies instead of adding what changed")
    parser.set_defaults(func=_sync)


def _sync(args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        stored = await stores.param_store.load()
        stores.params.apply({name: value for name, value in stored.items() if name in PARAMS})
        report = await run_sync(stores, full=args.full)
        for line in report.lines():
            print(line)
        print(f"sync done in {report.seconds:.2f} s")
        return 0

    return run_command(body)
