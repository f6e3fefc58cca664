"""docs/configuration.md documents every parameter and every environment name we read."""

from __future__ import annotations

import re
from pathlib import Path

from trinity_beast.params.definitions import PARAMS
from trinity_beast.secrets import SECRET_NAMES

ROOT = Path(__file__).parents[2]
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_every_parameter_has_a_row() -> None:
    rows = set(re.findall(r"^\| `([a-z0-9_]+)` \|", CONFIGURATION, flags=re.MULTILINE))
    assert rows >= set(PARAMS)


def test_every_environment_name_and_secret_is_documented() -> None:
    sources = [ROOT / "src" / "trinity_beast" / name for name in ("settings.py", "secrets.py")]
    names = {name for path in sources
             for name in re.findall(r"[\"']([A-Z][A-Z0-9_]{3,})[\"']", path.read_text("utf-8"))}
    assert {"DATABASE_URL", "REDIS_URL", "BEAST_SECRETS_FILE", "DB_PORT"} <= names
    missing = sorted(name for name in names | set(SECRET_NAMES) if f"`{name}" not in CONFIGURATION)
    assert missing == []
