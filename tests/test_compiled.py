"""The compiled hot path: what runs compiled, and a build older than its sources is noticed."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
from pathlib import Path

import pytest

from trinity_beast.compiled import (
    GROUP,
    HOT_PATH,
    SOURCE_ROOT,
    compiled_modules,
    module_file,
    stale_sources,
)

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _tree(root: Path, compiled: bool, built_at: float = 2_000_000.0) -> None:
    for module in HOT_PATH:
        source = module_file(root, module)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("")
        os.utime(source, (built_at - 10, built_at - 10))
        if compiled:
            extension = source.with_name(source.stem + SUFFIX)
            extension.write_bytes(b"")
            os.utime(extension, (built_at, built_at))
    if compiled:
        library = root / f"{GROUP}__mypyc{SUFFIX}"
        library.write_bytes(b"")
        os.utime(library, (built_at, built_at))


def test_every_hot_path_module_exists_and_defines_no_struct() -> None:
    for module in HOT_PATH:
        source = module_file(SOURCE_ROOT, module)
        assert source.is_file(), module
        assert "(msgspec.Struct" not in source.read_text(encoding="utf-8"), module


def test_a_build_is_all_or_nothing_and_what_is_compiled_is_what_is_imported() -> None:
    compiled = compiled_modules()
    assert compiled in ([], list(HOT_PATH))
    for module in HOT_PATH:
        loaded = importlib.import_module(module).__file__
        assert loaded is not None
        assert loaded.endswith(".py") == (not compiled), module


def test_an_interpreted_tree_is_never_stale(tmp_path: Path) -> None:
    _tree(tmp_path, compiled=False)
    assert compiled_modules(tmp_path) == []
    assert stale_sources(tmp_path) == []


def test_a_source_edited_after_the_build_is_reported(tmp_path: Path) -> None:
    _tree(tmp_path, compiled=True)
    assert compiled_modules(tmp_path) == list(HOT_PATH)
    assert stale_sources(tmp_path) == []
    edited = tmp_path / "trinity_beast" / "keys" / "model.py"  # not compiled, but imported
    edited.write_text("")
    assert stale_sources(tmp_path) == ["trinity_beast/keys/model.py"]


@pytest.mark.skipif(os.environ.get("CI", "").lower() not in {"1", "true", "yes"},
                    reason="CI tests what `make test` builds; locally either build is fine")
def test_ci_tests_the_compiled_build() -> None:
    assert compiled_modules() == list(HOT_PATH), "CI must test the hot path as it ships"


def test_an_extension_left_from_an_older_list_is_reported(tmp_path: Path) -> None:
    _tree(tmp_path, compiled=True)
    dropped = tmp_path / "trinity_beast" / "hub.py"
    dropped.write_text("")
    os.utime(dropped, (1_000_000, 1_000_000))
    dropped.with_name("hub" + SUFFIX).write_bytes(b"")
    assert stale_sources(tmp_path) == ["trinity_beast/hub.py"]
