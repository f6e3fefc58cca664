"""``beast keys``: create, list, show, revoke and re-tier API keys.

``create`` prints the new key, and nothing else, on stdout (``KEY=$(beast keys create …)``);
it is shown this once and stored only as a hash. With Valkey configured every change is
announced on ``keys:invalidate`` so running nodes re-read the key at once.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from trinity_beast.db.stores import Stores, run_command
from trinity_beast.keys.model import KeyRecord
from trinity_beast.keys.store import UnknownKey


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("keys", help="manage API keys",
                                   description="Create, list, show, revoke and re-tier API keys.")
    actions = parser.add_subparsers(dest="keys_action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="create a key; prints only the key")
    create.add_argument("--tier", required=True, help="free, pro, enterprise, unlimited, …")
    create.add_argument("--email", help="owner (a user is created on first use)")
    create.add_argument("--name", help="a label for the key")
    create.add_argument("--lrs", action="store_true", help="enable the unlimited-LRS add-on")
    create.set_defaults(func=_create)

    actions.add_parser("list", help="list keys (never the key or its hash)").set_defaults(
        func=_list)

    show = actions.add_parser("show", help="one key as JSON")
    show.add_argument("key_id", metavar="KEY_ID")
    show.set_defaults(func=_show)

    revoke = actions.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(func=_revoke)

    set_tier = actions.add_parser("set-tier", help="change the tier and re-provision the limits")
    set_tier.add_argument("key_id", metavar="KEY_ID")
    set_tier.add_argument("tier", metavar="TIER")
    set_tier.set_defaults(func=_set_tier)


def _create(args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        key, record = await stores.keys.create(args.tier, email=args.email, name=args.name,
                                               lrs=args.lrs)
        await stores.announce_key_change(record.key_id)
        print(key)
        print(f"created {record.key_id} (tier {record.tier}); the key above is shown only once",
              file=sys.stderr)
        return 0

    return run_command(body)


def _list(_args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        rows = [("KEY_ID", "TIER", "USAGE", "REVOKED", "LRS")]
        rows += [_row(record) for record in await stores.keys.load_all()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                  .rstrip())
        return 0

    return run_command(body)


def _row(record: KeyRecord) -> tuple[str, str, str, str, str]:
    limit = "unlimited" if record.query_limit is None else str(record.query_limit)
    return (record.key_id, record.tier, f"{record.current_usage}/{limit}",
            _yes(record.revoked), _yes(record.lrs_enabled))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _show(args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        record = await stores.keys.get(args.key_id)
        if record is None:
            raise UnknownKey(args.key_id)
        print(describe(record))
        return 0

    return run_command(body)


def describe(record: KeyRecord) -> str:
    """The record as indented JSON, without its hash."""
    fields = msgspec.structs.asdict(record)
    del fields["key_hash"]
    return msgspec.json.format(msgspec.json.encode(fields), indent=2).decode()


def _revoke(args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        record = await stores.keys.revoke(args.key_id)
        await stores.announce_key_change(record.key_id)
        print(f"revoked {record.key_id}")
        return 0

    return run_command(body)


def _set_tier(args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        record = await stores.keys.set_tier(args.key_id, args.tier)
        await stores.announce_key_change(record.key_id)
        print(f"{record.key_id} is now tier {record.tier}")
        return 0

    return run_command(body)
