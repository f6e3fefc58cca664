"""``beast params``: list, get and set application parameters; apply a profile.

A value is validated before anything is written; a refused value leaves the stored one as it
was. With Valkey configured, ``app:config`` is rewritten from the database after a change and
``params:changed`` is published, so running nodes reload at once.
"""

from __future__ import annotations

import argparse
from typing import Any

from trinity_beast.db.stores import Stores, run_command
from trinity_beast.params.definitions import PARAMS
from trinity_beast.params.store import apply_profile, definition, normalise


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("params", help="application parameters",
                                   description="List, read and change application parameters.")
    actions = parser.add_subparsers(dest="params_action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every parameter and its stored value").set_defaults(
        func=_list)
    get = actions.add_parser("get", help="print one value")
    get.add_argument("name", metavar="NAME")
    get.set_defaults(func=_get)
    set_ = actions.add_parser("set", help="validate and store one value")
    set_.add_argument("name", metavar="NAME")
    set_.add_argument("value", metavar="VALUE")
    set_.set_defaults(func=_set)
    profile = actions.add_parser("profile", help="apply a profile (demo, performance, debug)")
    profile.add_argument("profile", metavar="PROFILE")
    profile.set_defaults(func=_profile)


async def _effective(stores: Stores) -> dict[str, str]:
    """Stored values over the defaults, in definition order."""
    stored = await stores.param_store.load()
    return {name: stored.get(name, normalise(name, p.default)) for name, p in PARAMS.items()}


def _list(_args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        values = await _effective(stores)
        width = max(map(len, values))
        for name, value in values.items():
            print(f"{name.ljust(width)}  {value}")
        return 0

    return run_command(body)


def _get(args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        definition(args.name)
        print((await _effective(stores))[args.name])
        return 0

    return run_command(body)


def _set(args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        value = await stores.param_store.set(args.name, args.value)
        await stores.announce_param_change([args.name])
        print(f"{args.name} = {value}")
        return 0

    return run_command(body)


def _profile(args: argparse.Namespace) -> int:
    async def body(stores: Stores) -> int:
        values = await apply_profile(stores.param_store, args.profile)
        await stores.announce_param_change(sorted(values))
        for name, value in values.items():
            print(f"{name} = {value}")
        return 0

    return run_command(body)

