"""Build hook: the request hot path compiled with mypyc (docs/compiled.md).

Everything else about the package is in ``pyproject.toml``. The modules listed here are plain,
fully typed Python; mypyc turns each into a C extension that sits next to its source and is
imported in its place. ``BEAST_PURE_PYTHON=1`` (or no mypy at build time) builds none of them:
the package then runs the same source interpreted, only slower.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

sys.path.insert(0, str(Path(__file__).parent / "src"))
from trinity_beast.compiled import GROUP, HOT_PATH, module_file


def _extensions() -> list[object]:
    if os.environ.get("BEAST_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        return []
    sources = [str(module_file(Path("src"), name)) for name in HOT_PATH]
    return list(mypycify(sources, opt_level="3", group_name=GROUP))


setup(ext_modules=_extensions())
