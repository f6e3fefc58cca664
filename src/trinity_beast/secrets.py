"""Secrets: a value type that never prints, and loading from the environment or a secrets file."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

import msgspec

SECRET_NAMES = (
    # The seed's consolidated secret (§7), 16 keys.
    "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD",
    "STRIPE_SECRET_KEY",
    "SES_SMTP_HOST", "SES_SMTP_PORT", "SES_SMTP_USER", "SES_SMTP_PASSWORD", "SES_REGION",
    "SES_FROM_NOREPLY", "SES_FROM_SUPPORT", "SES_FROM_PARTNERS", "SES_FROM_CONTACT", "SES_DOMAIN",
    # Ours.
    "ADMIN_API_KEY", "STRIPE_WEBHOOK_SECRET",
)


class Secret:
    """A secret string. ``str()``/``repr()`` show ``'***'``; :meth:`reveal` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


class SecretsFileError(RuntimeError):
    """The secrets file is unreadable, malformed, or readable by other users."""


def load_secrets_file(path: Path) -> dict[str, str]:
    """Read ``KEY=value`` lines (or a JSON object); refuse a file readable by group or others."""
    try:
        info = path.stat()
    except OSError as exc:
        raise SecretsFileError(f"cannot read secrets file {path}: {exc.strerror}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsFileError(
            f"secrets file {path} is accessible by other users"
            f" (mode {stat.filemode(info.st_mode)});"
            f" run: chmod 600 {path}"
        )
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        try:
            data = msgspec.json.decode(text, type=dict[str, str])
        except msgspec.ValidationError as exc:
            raise SecretsFileError(f"secrets file {path}: {exc}") from exc
        return data
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SecretsFileError(f"secrets file {path}, line {number}: expected KEY=value")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def collect_secrets(env: Mapping[str, str]) -> dict[str, Secret]:
    """Secrets from ``BEAST_SECRETS_FILE`` (if set), overridden by the environment."""
    merged: dict[str, str] = {}
    file_name = env.get("BEAST_SECRETS_FILE")
    if file_name:
        merged.update(load_secrets_file(Path(file_name)))
    for name in SECRET_NAMES:
        if env.get(name):
            merged[name] = env[name]
    return {name: Secret(value) for name, value in merged.items() if name in SECRET_NAMES}


def redact(text: str, secrets: Mapping[str, Secret]) -> str:
    """Replace every secret value that occurs in ``text`` with ``***``."""
    for secret in secrets.values():
        value = secret.reveal()
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


def environ() -> Mapping[str, str]:
    return os.environ
