"""``beast config show``: the effective settings as JSON, secrets shown as ``***``.

Secrets come from the environment or ``BEAST_SECRETS_FILE`` (see docs/configuration.md); each
known secret is listed as ``"***"`` when set and ``null`` when not. Passwords inside the
database and Valkey URLs are redacted the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from trinity_beast.db.engine import redacted
from trinity_beast.secrets import SECRET_NAMES, Secret, SecretsFileError
from trinity_beast.settings import Settings, SettingsError, load_settings

REDACTED = "***"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="show the effective configuration",
                                   description="Show the configuration this node would use.")
    actions = parser.add_subparsers(dest="config_action", required=True, metavar="ACTION")
    actions.add_parser("show", help="print the settings as JSON, secrets redacted").set_defaults(
        func=_show)


def _show(_args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except (SettingsError, SecretsFileError) as exc:
        print(f"beast: error: {exc}", file=sys.stderr)
        return 1
    document = msgspec.json.encode(effective_configuration(settings))
    print(msgspec.json.format(document, indent=2).decode())
    return 0


def effective_configuration(settings: Settings) -> dict[str, Any]:
    """Every setting as plain JSON values, with nothing secret in it."""
    shown: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        shown[field.name] = _plain(getattr(settings, field.name))
    shown["database_url"] = redacted(settings.database_url)
    shown["redis_url"] = redacted(settings.redis_url) if settings.redis_url else None
    shown["secrets"] = {name: REDACTED if name in settings.secrets else None
                        for name in SECRET_NAMES}
    return shown


def _plain(value: object) -> Any:
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
