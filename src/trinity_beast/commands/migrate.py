"""``beast migrate``: bring the database to the newest schema and seed what it needs.

Seeds the defaults of parameters that have no row and (unless ``BEAST_SEED_DEMO_KEY=false``)
the public demo key. ``--sql`` prints the SQL of the migrations for the configured kind of
database instead, without connecting.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trinity_beast.db.engine import redacted
from trinity_beast.db.migrate import upgrade_sql
from trinity_beast.db.stores import USER_ERRORS, Stores, prepare_database, run_command
from trinity_beast.settings import load_settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate", help="migrate the database to the newest schema",
        description="Apply the Alembic migrations (PostgreSQL or SQLite per DATABASE_URL), "
                    "seed parameter defaults and the demo key.")
    parser.add_argument("--sql", action="store_true",
                        help="print the SQL instead of running it (nothing is connected)")
    parser.set_defaults(func=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    if args.sql:
        try:
            upgrade_sql(load_settings().database_url, sys.stdout)
        except USER_ERRORS as exc:
            print(f"beast: error: {exc}", file=sys.stderr)
            return 1
        return 0
    return run_command(_apply, prepare=False)


async def _apply(stores: Stores) -> int:
    prepared = await prepare_database(stores)
    print(f"{redacted(stores.settings.database_url)} is at revision {prepared.revision}")
    if prepared.seeded_params:
        print(f"{len(prepared.seeded_params)} parameter defaults added")
    if prepared.demo_key is not None:
        print(f"demo key {prepared.demo_key.key_id} ready (tier {prepared.demo_key.tier})")
    return 0
