"""Which modules run compiled (mypyc), and whether any compiled one is older than its source.

The request hot path, listed in :data:`HOT_PATH`, is compiled by ``setup.py`` into C extensions
that sit next to their sources and are imported in their place (docs/compiled.md). A compiled
module older than its ``.py`` runs code that is no longer in the source: ``make`` rebuilds them,
``beast`` warns at start, and the test suite refuses to run.
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

HOT_PATH: tuple[str, ...] = (
    "trinity_beast.api.auth",
    "trinity_beast.api.assets",
    "trinity_beast.api.callers",
    "trinity_beast.api.governed",
    "trinity_beast.api.http_lpo",
    "trinity_beast.api.ip_guard",
    "trinity_beast.api.price_view",
    "trinity_beast.api.router",
    "trinity_beast.api.service",
    "trinity_beast.epoch",
    "trinity_beast.http.connection",
    "trinity_beast.http.encoder",
    "trinity_beast.http.reader",
    "trinity_beast.http.request",
    "trinity_beast.http.response",
    "trinity_beast.http.state",
    "trinity_beast.keys.cache",
    "trinity_beast.keys.hashing",
    "trinity_beast.limits.governor",
    "trinity_beast.limits.leased",
    "trinity_beast.limits.limiter",
    "trinity_beast.limits.quota",
    "trinity_beast.params.values",
    "trinity_beast.prices.book",
    "trinity_beast.prices.fanout",
    "trinity_beast.prices.lookup",
    "trinity_beast.udp.counters",
    "trinity_beast.udp.governor",
    "trinity_beast.udp.guard",
    "trinity_beast.udp.limits",
    "trinity_beast.udp.lpo",
    "trinity_beast.udp.replies",
    "trinity_beast.udp.signing",
    "trinity_beast.udp.wire",
    "trinity_beast.usage.ids",
    "trinity_beast.usage.pipeline",
    "trinity_beast.usage.queue",
)
"""Modules compiled by ``setup.py``: plain typed Python, free of ``msgspec.Struct`` definitions
(mypyc does not compile those; they stay in modules of their own)."""

GROUP = "trinity_beast_hot"
"""The name of the shared library that holds the compiled code of every :data:`HOT_PATH` module."""

SOURCE_ROOT = Path(__file__).resolve().parent.parent
"""The directory that holds the ``trinity_beast`` package (``src/`` in a checkout)."""


def module_file(root: Path, name: str, suffix: str = ".py") -> Path:
    """Where module ``name`` keeps the file ending in ``suffix`` (``.py``, an extension's)."""
    return root / (name.replace(".", "/") + suffix)


def _extension(root: Path, name: str) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = module_file(root, name, suffix)
        if candidate.exists():
            return candidate
    return None


def compiled_modules(root: Path = SOURCE_ROOT) -> list[str]:
    """The modules of :data:`HOT_PATH` that have a compiled extension next to their source."""
    return [module for module in HOT_PATH if _extension(root, module) is not None]


def stale_sources(root: Path = SOURCE_ROOT) -> list[str]:
    """Sources changed after the compiled build (``make`` rebuilds it); empty when nothing is
    compiled (no shared library). Any module counts, not only the compiled ones: compiled code
    relies on the types of everything it imports."""
    library = _extension(root, f"{GROUP}__mypyc")
    if library is None:
        return []
    built = library.stat().st_mtime
    package = root / "trinity_beast"
    stale = {str(source.relative_to(root)) for source in package.rglob("*.py")
             if source.stat().st_mtime > built}
    # An extension of a module taken off the list would still shadow its source.
    hot = {module_file(root, module) for module in HOT_PATH}
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for extension in package.rglob(f"*{suffix}"):
            source = extension.with_name(extension.name[:-len(suffix)] + ".py")
            if source.exists() and source not in hot:
                stale.add(str(source.relative_to(root)))
    return sorted(stale)
