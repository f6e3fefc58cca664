"""The ``beast`` command line: finds the subcommands in :mod:`trinity_beast.commands`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import cast

from trinity_beast import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beast", description="The Trinity Beast price oracle")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = cast(Callable[[argparse.Namespace], int], args.func)
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `beast keys list | head`: the reader left, that is fine
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
